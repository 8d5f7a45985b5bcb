// Moved to src/keys (verification needs keys without loading signing code); kept for src/sign's own imports.
export * from '../keys/secretbox.js';
