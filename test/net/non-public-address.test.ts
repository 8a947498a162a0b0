/**
 * Which addresses a key URL may never reach (issue 9 point 14): `isNonPublicAddress`
 * over the IPv4 and IPv6 special-purpose ranges, IPv4-mapped IPv6 judged as its IPv4.
 */
import { describe, expect, it } from 'vitest';
import { isNonPublicAddress } from '../../broker/net/safe-fetch.js';

describe('isNonPublicAddress', () => {
  it('refuses loopback, private, link-local, unique-local, CGNAT, multicast and unspecified addresses', () => {
    const refused = [
      '127.0.0.1',
      '127.255.255.254',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fd00::1',
      'fc00::1',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.1.2.3',
      '64:ff9b::a00:1',
      'not-an-address',
    ];
    expect(refused.filter((a) => !isNonPublicAddress(a))).toEqual([]);
  });

  it('lets public addresses through', () => {
    const allowed = [
      '93.184.216.34',
      '8.8.8.8',
      '172.32.0.1',
      '192.169.0.1',
      '2606:4700::1111',
      '::ffff:8.8.8.8',
    ];
    expect(allowed.filter((a) => isNonPublicAddress(a))).toEqual([]);
  });
});
