// Moved to src/cosign (formats shared by signing and verification); kept for src/sign's own imports.
export * from '../cosign/simplesigning.js';
