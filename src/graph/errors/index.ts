export { StoreUnavailableError } from './store-unavailable-error';
export { StoreLockedError } from './store-locked-error';
export { StoreFileError } from './store-file-error';
export { StoreNotFoundError } from './store-not-found-error';
export { InputFileError } from './input-file-error';
export { WriteQueryRefusedError } from './write-query-refused-error';
export { QueryParameterError } from './query-parameter-error';
export { IngestFailedError } from './ingest-failed-error';
