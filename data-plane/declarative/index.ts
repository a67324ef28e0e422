// Kong's declarative configuration (DB-less mode) → normalized snapshot, and back.
export { parseDeclarative, parseDeclarativeText, compileDeclarative, FORMAT_VERSIONS, type ParseOptions } from './parse.js';
export { loadDeclarativeFile, validateDeclarativeFile, entityCounts, type EntityCounts, type DeclarativeValidation } from './load.js';
export { exportDeclarative, exportDeclarativeObject } from './export.js';
export {
  flattenDeclarativeErrors,
  DeclarativeConfigError,
  formatPath,
  type FlatDeclarativeError,
  type FlatEntityError,
} from './errors.js';
export { migratePath } from './migrate.js';
