// world lever:connector/embedder@0.2.0
export type * as WasiConfigStore020Draft20240927 from './interfaces/wasi-config-store.js'; // import wasi:config/store@0.2.0-draft-2024-09-27
export type * as WasiKeyvalueAtomics020Draft2 from './interfaces/wasi-keyvalue-atomics.js'; // import wasi:keyvalue/atomics@0.2.0-draft2
export type * as WasiKeyvalueBatch020Draft2 from './interfaces/wasi-keyvalue-batch.js'; // import wasi:keyvalue/batch@0.2.0-draft2
export type * as WasiKeyvalueStore020Draft2 from './interfaces/wasi-keyvalue-store.js'; // import wasi:keyvalue/store@0.2.0-draft2
export * as types from './interfaces/lever-connector-types.js'; // export lever:connector/types@0.2.0
export * as webhooks from './interfaces/lever-connector-webhooks.js'; // export lever:connector/webhooks@0.2.0
export * as partner from './interfaces/lever-connector-partner.js'; // export lever:connector/partner@0.2.0
export * as setup from './interfaces/lever-connector-setup.js'; // export lever:connector/setup@0.2.0
export * as actions from './interfaces/lever-connector-actions.js'; // export lever:connector/actions@0.2.0
export * as triggers from './interfaces/lever-connector-triggers.js'; // export lever:connector/triggers@0.2.0
export * as operations from './interfaces/lever-connector-operations.js'; // export lever:connector/operations@0.2.0
