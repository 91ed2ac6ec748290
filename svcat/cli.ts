import yargs, { type Argv } from 'yargs';
import type * as Commands from './commands';
import { suggestions } from './suggest';
import { CliError, errorLine, type Target } from './errors';
import { outputFormats } from './output';
import type { GlobalArgs } from './session';
import { clientVersion } from './version';

/**
 * The svcat command tree (yargs): commands, flags, help and completion, as the original svcat
 * had them. Handlers load the implementation (./commands) only when they run.
 */

type Actions = typeof Commands;
type ActionName = {
  [K in keyof Actions]: Actions[K] extends (s: never, a: never) => Promise<void> ? K : never;
}[keyof Actions];

/** Where the last command connected to, for messages about failed connections. */
let target: Target | undefined;

function run<K extends ActionName>(name: K) {
  return async (argv: unknown) => {
    const commands = await import('./commands');
    const session = new commands.Session(argv as GlobalArgs);
    target = session.target;
    await (commands[name] as (s: Commands.Session, a: unknown) => Promise<void>)(session, argv);
  };
}

const toList = (v: unknown) => (v === undefined ? undefined : ([] as unknown[]).concat(v).map(String));

const scopeChoices = ['all', 'cluster', 'namespace'];

function scoped(y: Argv, defaultScope: 'all' | 'namespace' = 'all') {
  return y.option('scope', {
    type: 'string',
    choices: defaultScope === 'all' ? scopeChoices : ['cluster', 'namespace'],
    default: defaultScope,
    describe:
      defaultScope === 'all'
        ? 'Where to look: cluster-scoped objects, those of the namespace, or both'
        : 'Create it cluster-scoped or in the namespace',
  });
}

const allNamespaces = (y: Argv) =>
  y.option('all-namespaces', {
    alias: 'A',
    type: 'boolean',
    describe: 'Every namespace instead of the current one',
  });

const output = (y: Argv) =>
  y.option('output', {
    alias: 'o',
    type: 'string',
    choices: outputFormats,
    default: 'table',
    describe: 'table, wide (more columns), or json/yaml as kubectl apply -f takes them',
  });

const kubeName = (y: Argv, what: string) =>
  y.option('kube-name', {
    alias: 'k',
    type: 'boolean',
    describe: `Name the ${what} by Kubernetes name instead of by the broker's name`,
  });

const name = (y: Argv, what: string, required = false) =>
  y.positional('name', { type: 'string', describe: `${what}${required ? '' : ' (all when left out)'}` });

function waitable(y: Argv) {
  return y
    .option('wait', { type: 'boolean', describe: 'Wait until the operation has finished (or failed)' })
    .option('timeout', {
      type: 'string',
      default: '5m',
      describe: 'How long --wait waits, e.g. 30s, 5m, 1h; -1 waits forever',
    })
    .option('interval', { type: 'string', default: '1s', describe: 'How often --wait looks' })
    .group(['wait', 'timeout', 'interval'], 'Waiting:');
}

function parameterized(y: Argv, what: string) {
  return y
    .option('param', {
      alias: 'p',
      type: 'string',
      coerce: toList,
      describe: `A ${what} parameter NAME=VALUE (repeatable; a.b=VALUE nests); put secrets in a Secret and use --secret`,
    })
    .option('params-json', { type: 'string', describe: `All ${what} parameters as one JSON object` })
    .option('secret', {
      alias: 's',
      type: 'string',
      coerce: toList,
      describe: `A ${what} parameter from a Secret: SECRET[KEY] (repeatable)`,
    })
    .conflicts('param', 'params-json');
}

const abandonable = (y: Argv, what: string) =>
  y
    .option('abandon', {
      type: 'boolean',
      describe: `Remove the ${what} from the catalog without asking its broker (it stays there, and may be charged for)`,
    })
    .option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask before --abandon' });

function getCommands(y: Argv) {
  return y
    .command(
      ['brokers [name]', 'broker', 'brk'],
      'List brokers, or show one',
      (y) => output(allNamespaces(scoped(name(y, 'A broker')))),
      run('getBrokers'),
    )
    .command(
      ['classes [name]', 'class', 'cl'],
      'List classes, or show one',
      (y) =>
        kubeName(output(allNamespaces(scoped(name(y, 'A class')))), 'class').option('broker', {
          alias: 'b',
          type: 'string',
          describe: "Only this broker's classes",
        }),
      run('getClasses'),
    )
    .command(
      ['plans [name]', 'plan', 'pl'],
      'List plans, or show one (PLAN or CLASS/PLAN)',
      (y) =>
        kubeName(output(allNamespaces(scoped(name(y, 'A plan, or CLASS/PLAN')))), 'plan and class').option(
          'class',
          { alias: 'c', type: 'string', describe: "Only this class's plans" },
        ),
      run('getPlans'),
    )
    .command(
      ['instances [name]', 'instance', 'inst'],
      'List instances, or show one',
      (y) =>
        output(allNamespaces(name(y, 'An instance')))
          .option('class', { alias: 'c', type: 'string', describe: 'Only instances of this class' })
          .option('plan', { alias: 'p', type: 'string', describe: 'Only instances on this plan' }),
      run('getInstances'),
    )
    .command(
      ['bindings [name]', 'binding', 'bnd'],
      'List bindings, or show one',
      (y) => output(allNamespaces(name(y, 'A binding'))),
      run('getBindings'),
    )
    .demandCommand(1, 'name what to get: brokers, classes, plans, instances or bindings');
}

function describeCommands(y: Argv) {
  return y
    .command(
      ['broker <name>', 'brokers', 'brk'],
      'Show a broker and its classes',
      (y) => scoped(name(y, 'The broker', true)),
      run('describeBrokerCmd'),
    )
    .command(
      ['class <name>', 'classes', 'cl'],
      'Show a class and its plans',
      (y) => kubeName(scoped(name(y, 'The class', true)), 'class'),
      run('describeClassCmd'),
    )
    .command(
      ['plan <name>', 'plans', 'pl'],
      'Show a plan (PLAN or CLASS/PLAN), its instances and parameter schemas',
      (y) =>
        kubeName(scoped(name(y, 'The plan', true)), 'plan').option('show-schemas', {
          type: 'boolean',
          default: true,
          describe: 'Show the parameter schemas (--no-show-schemas hides them)',
        }),
      run('describePlanCmd'),
    )
    .command(
      ['instance <name>', 'instances', 'inst'],
      'Show an instance: plan, parameters (secret values redacted), status, last operation, bindings',
      (y) => name(y, 'The instance', true),
      run('describeInstanceCmd'),
    )
    .command(
      ['binding <name>', 'bindings', 'bnd'],
      'Show a binding and the keys of its Secret',
      (y) =>
        name(y, 'The binding', true).option('show-secrets', {
          type: 'boolean',
          describe: 'Show the Secret values decoded (only their sizes otherwise)',
        }),
      run('describeBindingCmd'),
    )
    .demandCommand(1, 'name what to describe: broker, class, plan, instance or binding');
}

/** The whole command line; `scriptName` is svcat, or "kubectl svcat" when run as the plugin. */
export function buildCli(argv: string[], scriptName: string): Argv {
  return yargs(argv)
    .scriptName(scriptName)
    .usage(
      `$0 <command> [flags]\n\nThe Kubernetes Service Catalog command line: browse the marketplace, register brokers, provision, bind and wait.`,
    )
    .option('kubeconfig', { type: 'string', describe: 'The kubeconfig file (overrides $KUBECONFIG)' })
    .option('context', { type: 'string', describe: 'The kubeconfig context to use' })
    .option('namespace', {
      alias: 'n',
      type: 'string',
      describe: "The namespace (default: the context's, else default)",
    })
    .group(['kubeconfig', 'context', 'namespace'], 'Cluster:')
    .command('get', 'List brokers, classes, plans, instances or bindings', getCommands)
    .command('describe', 'Show one broker, class, plan, instance or binding in detail', describeCommands)
    .command(
      ['marketplace', 'mp'],
      'List the classes and their plans',
      (y) => output(allNamespaces(scoped(y))),
      run('marketplace'),
    )
    .command(
      'provision <name>',
      'Create an instance of a service',
      (y) =>
        waitable(
          parameterized(
            kubeName(scoped(name(y, 'The new instance', true)), 'class and plan')
              .option('class', { type: 'string', demandOption: true, describe: 'The class (required)' })
              .option('plan', { type: 'string', demandOption: true, describe: 'The plan (required)' })
              .option('external-id', {
                type: 'string',
                describe: 'The OSB instance_id (a UUID is generated otherwise)',
              }),
            'provision',
          ),
        ).example('$0 provision db --class scripted-database --plan small -p size=s --wait', ''),
      run('provision'),
    )
    .command(
      'deprovision <name>',
      'Delete an instance (its broker deprovisions it)',
      (y) => waitable(abandonable(name(y, 'The instance', true), 'instance')),
      run('deprovision'),
    )
    .command(
      'bind <instance>',
      'Bind an instance: its credentials go to a Secret',
      (y) =>
        waitable(
          parameterized(
            y
              .positional('instance', { type: 'string', describe: 'The instance to bind' })
              .option('name', { type: 'string', describe: 'The binding (default: the instance name)' })
              .option('secret-name', { type: 'string', describe: 'The Secret (default: the binding name)' })
              .option('external-id', {
                type: 'string',
                describe: 'The OSB binding_id (a UUID is generated otherwise)',
              }),
            'bind',
          ),
        ),
      run('bind'),
    )
    .command(
      'unbind [instance]',
      'Delete all bindings of an instance, or the bindings named with --name',
      (y) =>
        waitable(
          abandonable(
            y
              .positional('instance', { type: 'string', describe: 'The instance whose bindings go' })
              .option('name', {
                type: 'string',
                coerce: toList,
                describe: 'A binding to delete (repeatable)',
              }),
            'bindings',
          ),
        ),
      run('unbind'),
    )
    .command(
      'register <name>',
      'Register a broker',
      (y) =>
        waitable(
          scoped(name(y, 'The broker', true), 'namespace')
            .option('url', { type: 'string', demandOption: true, describe: "The broker's URL (required)" })
            .option('basic-secret', {
              type: 'string',
              describe: 'A Secret with username and password for the broker',
            })
            .option('bearer-secret', {
              type: 'string',
              describe: 'A Secret with a bearer token for the broker',
            })
            .option('ca', {
              type: 'string',
              describe: "A PEM file of the CA that signed the broker's certificate",
            })
            .option('skip-tls', {
              type: 'boolean',
              describe: "Do not verify the broker's certificate (prefer --ca)",
            })
            .option('class-restrictions', {
              type: 'string',
              coerce: toList,
              describe: 'Only classes matching, e.g. "spec.externalName in (a, b)" (repeatable)',
            })
            .option('plan-restrictions', {
              type: 'string',
              coerce: toList,
              describe: 'Only plans matching, e.g. "spec.free=true" (repeatable)',
            })
            .option('relist-behavior', {
              type: 'string',
              describe: 'When the catalog is fetched again: duration or manual',
            })
            .option('relist-duration', { type: 'string', describe: 'With duration: how often, e.g. 15m' }),
        ),
      run('register'),
    )
    .command(
      'deregister <name>',
      'Remove a broker, its classes and plans',
      (y) => waitable(scoped(name(y, 'The broker', true))),
      run('deregister'),
    )
    .command(['sync', 'relist'], "Fetch a broker's catalog again", (y) =>
      y
        .command(
          'broker <name>',
          "Fetch a broker's catalog again",
          (y) => waitable(scoped(name(y, 'The broker', true))),
          run('syncBroker'),
        )
        .demandCommand(1, 'name what to sync: broker NAME'),
    )
    .command('touch', 'Make the controller process an instance again', (y) =>
      y
        .command(
          'instance <name>',
          'Send the instance to its broker again (an update; retries a failed provision)',
          (y) => waitable(name(y, 'The instance', true)),
          run('touchInstance'),
        )
        .demandCommand(1, 'name what to touch: instance NAME'),
    )
    .command('create', 'Create a user-defined class', (y) =>
      y
        .command(
          'class <name>',
          'Copy a class under a new name',
          (y) =>
            scoped(name(y, 'The new class', true)).option('from', {
              alias: 'f',
              type: 'string',
              demandOption: true,
              describe: 'The class to copy (required)',
            }),
          run('createClass'),
        )
        .demandCommand(1, 'name what to create: class NAME --from CLASS'),
    )
    .command(
      'version',
      'Show the client and server versions',
      (y) => y.option('client', { alias: 'c', type: 'boolean', describe: 'Only the client version' }),
      async (argv) => {
        const commands = await import('./commands');
        const session = argv.client ? undefined : new commands.Session(argv);
        target = session?.target;
        await commands.printVersions(session);
      },
    )
    .command(
      'completion <shell>',
      'Print the shell completion script: source <(svcat completion bash)',
      (y) => y.positional('shell', { type: 'string', choices: ['bash', 'zsh'] }),
      (argv) => completionScript(argv.shell as string),
    )
    .completion('__complete', false)
    .demandCommand(1, 'name a command')
    .strict()
    .version(clientVersion)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err ?? new UsageError(explainUnknown(msg, argv) ?? msg);
    });
}

/** The commands of each level, for "did you mean" on a typo. */
const commandNames: Record<string, string[]> = {
  '': [
    'get',
    'describe',
    'marketplace',
    'provision',
    'deprovision',
    'bind',
    'unbind',
    'register',
    'deregister',
    'sync',
    'touch',
    'create',
    'version',
    'completion',
  ],
  get: ['brokers', 'classes', 'plans', 'instances', 'bindings'],
  describe: ['broker', 'class', 'plan', 'instance', 'binding'],
  sync: ['broker'],
  relist: ['broker'],
  touch: ['instance'],
  create: ['class'],
};

/**
 * yargs' messages in svcat's words; "Unknown argument: x" (strict mode) says what x is: a flag, a
 * command or a stray word.
 */
function explainUnknown(msg: string, argv: string[]): string | undefined {
  const choice = /^Invalid values:\s+Argument: (\S+), Given: (.+), Choices: (.+)$/s.exec(msg);
  if (choice) return `invalid --${choice[1]} ${choice[2]}: want one of ${choice[3].replace(/"/g, '')}`;
  const missing = /^Missing required arguments?: (.+)$/.exec(msg);
  if (missing)
    return `missing ${missing[1]
      .split(', ')
      .map((f) => `--${f}`)
      .join(', ')}`;
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return undefined;
  const word = m[1].split(', ')[0];
  const flag = argv.find((a) => a === `-${word}` || a === `--${word}` || a.startsWith(`--${word}=`));
  if (flag) return `unknown flag: ${flag.split('=')[0]}`;
  const at = argv.indexOf(word);
  const before = argv.slice(0, Math.max(at, 0)).filter((a) => !a.startsWith('-'));
  const parent = before.length ? before[before.length - 1] : '';
  const names = before.length <= 1 ? commandNames[parent] : undefined;
  if (!names) return `unexpected argument "${word}"`;
  const what = parent ? `"${parent}" subcommand` : 'command';
  return `unknown ${what} "${word}"${suggestions(parent ? 'subcommand' : 'command', word, names)}`;
}

/** A mistake on the command line, answered with a pointer to --help. */
export class UsageError extends CliError {}

/**
 * yargs writes its bash script, or its zsh one when $SHELL said zsh as the parser was made. The
 * script completes the svcat command (kubectl completes plugins through kubectl_complete-NAME).
 */
function completionScript(shell: string): void {
  process.env.SHELL = shell === 'zsh' ? '/bin/zsh' : '/bin/bash';
  // yargs takes the program and the command naming the script; its types say neither
  const cli = buildCli([], 'svcat') as unknown as { showCompletionScript($0: string, cmd: string): void };
  cli.showCompletionScript('svcat', `completion ${shell}`);
}

/** Runs svcat; resolves to the exit status. Errors are one line on stderr, never a stack. */
export async function main(argv: string[], scriptName: string): Promise<number> {
  const cli = buildCli(argv, scriptName);
  try {
    await cli.parseAsync();
    return 0;
  } catch (e) {
    const hint = e instanceof UsageError ? `\nRun '${scriptName} --help' for usage.` : '';
    // one line, whatever the cause wrote (a YAML parser quotes the file)
    process.stderr.write(`error: ${errorLine(e, target).split('\n')[0]}${hint}\n`);
    return 1;
  }
}
