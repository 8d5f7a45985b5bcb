/** The chartproof package version. @public */
export const VERSION = '0.1.0';
