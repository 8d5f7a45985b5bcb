/**
 * bcrypt: recomputing hashes that Helm v4.1.4 (Go x/crypto/bcrypt) produced, from
 * their salts, must give the same strings; generated hashes have Go's shape.
 */
import { describe, expect, it } from 'vitest';
import { bcryptHash, bcryptSalt } from '../../../src/render/funcs/bcrypt.js';
import { call } from './helpers.js';

// Produced by `helm template` v4.1.4: bcrypt "password", htpasswd "user" "s3cr3t-ü",
// bcrypt "", bcrypt (repeat 72 "y").
const HELM: [string, string][] = [
  ['password', '$2a$10$Z/hvS3fo1o4Qd5UC23ydU.EirL0TxB8u6ua97N3836H38HUgyrYwO'],
  ['s3cr3t-ü', '$2a$10$FlmFFNCz6OZ81HrjBNn5e.IcXuXC0gk/T2Cc8LOh1UVeJfagAwrlq'],
  ['', '$2a$10$RSuNdHUy8SozrwfnTun2Y.a8JDI7yOf8UY6Mvdgl/wn8y7mUDobm2'],
  ['y'.repeat(72), '$2a$10$On2GKQOgT4LJ2514pfqDXO0PP1mZeELCPys9KLFRIVo2NiXqM5Kha'],
];

describe('bcrypt', () => {
  it.each(HELM)('reproduces Go’s hash of %j from its salt', (password, hash) => {
    expect(bcryptHash(Buffer.from(password, 'utf8'), 10, bcryptSalt(hash))).toBe(hash);
  });

  it('generates $2a$10$ hashes and refuses passwords over 72 bytes like Go', () => {
    expect(call('bcrypt', 'pw')).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    expect(call('htpasswd', 'admin', 'pw')).toMatch(/^admin:\$2a\$10\$[./A-Za-z0-9]{53}$/);
    expect(call('htpasswd', 'a:b', 'pw')).toBe('invalid username: a:b');
    expect(call('bcrypt', 'x'.repeat(73))).toBe(
      'failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes',
    );
  });
});
