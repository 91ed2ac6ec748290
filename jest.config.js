/** Tests live in test/; each file starts what it needs (etcd, API server, brokers) on free ports. */
const tsJest = ['ts-jest', { diagnostics: false }];
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': tsJest,
    // @kubernetes/client-node and its auth dependencies ship only as ES modules, which jest's
    // CommonJS runtime cannot load on Node 20: compile them to CommonJS like our own code
    '^.+\\.m?js$': [
      'ts-jest',
      {
        diagnostics: false,
        tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', isolatedModules: true },
      },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@kubernetes/client-node|openid-client|oauth4webapi|jose)/)'],
  testTimeout: 60000,
  maxWorkers: 2,
};
