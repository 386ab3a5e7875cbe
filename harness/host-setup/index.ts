/**
 * The door of harness/host-setup/: what other folders use of it. Another folder imports this module only.
 */
export { magicFor, registerHandler, registrationLine, restoreHandler, setHandlerEnabled, unregisterHandler } from './binfmt-writes.ts';
export { askKernel, describeAnswer, hostArchitecture, setupHost, undoSetup, type KernelAnswer } from './host-setup.ts';
