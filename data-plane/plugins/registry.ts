// Name → handler of every plugin this data plane can run. A snapshot that configures a plugin
// missing here is refused by compileRuntime (Kong refuses configs with unknown plugins too).
import type { PluginHandler } from './types.js';

export const handlers: Record<string, PluginHandler> = {};
