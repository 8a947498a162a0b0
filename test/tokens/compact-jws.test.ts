/**
 * `isCompactJws` (issue 9 point 3): only the one canonical spelling of a compact JWS.
 * Checked against Node's own base64url encoder: for every byte length, the canonical
 * encoding is taken and each variant with a pad bit set is refused.
 */
import { describe, expect, it } from 'vitest';
import { isCompactJws } from '../../broker/tokens/compact-jws.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const enc = (bytes: number[]) => Buffer.from(bytes).toString('base64url');

describe('isCompactJws', () => {
  it('takes the canonical encoding of every byte length and every last character', () => {
    const refused: string[] = [];
    for (let length = 1; length <= 6; length++) {
      for (let last = 0; last < 256; last++) {
        const segment = enc([...Array<number>(length - 1).fill(0xa5), last]);
        const token = `${segment}.${segment}.${segment}`;
        if (!isCompactJws(token)) refused.push(token);
      }
    }
    expect(refused).toEqual([]);
  });

  it('refuses a pad bit set in any segment', () => {
    const taken: string[] = [];
    for (let length = 1; length <= 5; length++) {
      const good = enc(Array<number>(length).fill(0x5a));
      if (good.length % 4 === 0) continue;
      const lastValue = B64URL.indexOf(good.at(-1)!);
      const padBits = good.length % 4 === 2 ? 4 : 2;
      for (let bits = 1; bits < 1 << padBits; bits++) {
        const bad = good.slice(0, -1) + B64URL[lastValue | bits];
        for (const token of [
          `${bad}.${good}.${good}`,
          `${good}.${bad}.${good}`,
          `${good}.${good}.${bad}`,
        ]) {
          if (isCompactJws(token)) taken.push(token);
        }
      }
    }
    expect(taken).toEqual([]);
  });

  it('refuses padding, whitespace, other alphabets, impossible lengths and other shapes', () => {
    const good = enc([1, 2, 3]);
    const bad = [
      `${good}.${good}.${good}=`,
      `${enc([1])}==.${good}.${good}`,
      `${good}.${good}.${good} `,
      ` ${good}.${good}.${good}`,
      `${good}.${good}.${good}\n`,
      `${good}.${good}.AA\tAA`,
      `${good}.${good}.a+b/`,
      `${good}.${good}.AAAAA`,
      `${good}.${good}.`,
      `${good}..${good}`,
      `${good}.${good}`,
      `${good}.${good}.${good}.${good}`,
      '',
    ];
    expect(bad.filter(isCompactJws)).toEqual([]);
    expect(isCompactJws(`${good}.${good}.${good}`)).toBe(true);
  });
});
