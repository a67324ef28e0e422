// Headers that carry the product version on proxied and gateway-generated responses.
import { SILVERBACK_VERSION } from '../../shared/version.js';

export const VERSION = SILVERBACK_VERSION;
export const SERVER_HEADER = `silverback/${VERSION}`;
export const VIA_VALUE = `1.1 silverback/${VERSION}`;
