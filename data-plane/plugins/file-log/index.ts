// file-log (priority 9): one JSON line per request, Kong's log serializer record, appended to
// config.path. The write happens off the request (see appender.ts); a failing file never fails a request.
import type { PluginHandler } from '../types.js';
import { serialize } from '../log-serializer.js';
import { appenderFor, type Appender } from './appender.js';

export interface FileLogConfig {
  path: string;
  reopen: boolean;
  custom_fields_by_lua?: Record<string, string> | null;
}

export const fileLog: PluginHandler<FileLogConfig> = {
  name: 'file-log',
  version: '3.9.0',
  priority: 9,

  init(conf): Appender {
    return appenderFor(conf.path, conf.reopen);
  },

  log(ctx, _conf, appender: Appender) {
    appender.append(JSON.stringify(serialize(ctx)) + '\n');
  },
};

export default fileLog;
