import { cond, Fixture, startSuite, type Suite } from './instance-fixture';

let suite: Suite;
beforeAll(async () => {
  suite = await startSuite();
}, 60_000);
afterAll(async () => {
  await suite?.stop();
});

describe('smoke', () => {
  it('provisions', async () => {
    const f = await Fixture.create(suite, 'smoke');
    await f.instance('a');
    const i = await f.waitReady('a');
    console.log(JSON.stringify(i, null, 1));
    console.log(JSON.stringify(f.broker.journal.map((e) => [e.method, e.url, e.status, e.body, e.violations]), null, 1));
    expect(cond(i, 'Ready')?.reason).toBe('ProvisionedSuccessfully');
    await suite.api.delete((await import('../api-types')).serviceInstanceResource, f.namespace, 'a');
    await f.waitGone('a');
    console.log(JSON.stringify(f.broker.journal.slice(-2).map((e) => [e.method, e.url, e.status, e.body, e.violations]), null, 1));
  });
});
