// The vitest helpers, used as a user would: a describe per scenario, a test per platform, against
// the real engine. (Their own pass/fail is what vitest reports for each platform below.)
import { describeImage, describeScenario } from 'multiarch-harness/vitest';
import echoAmd64 from './fixtures/echo-amd64.ts';

describeScenario(echoAmd64);

describeImage('127.0.0.1:5001/library/alpine:latest', {
  platforms: ['linux/arm64', 'linux/arm/v6', 'linux/386'],
  expect: { kind: 'uname' },
  command: ['uname', '-m'],
});
