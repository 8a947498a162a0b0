/**
 * Breaking client authentication (RFC 6749 §2.3): every variant leaves a valid request
 * without valid credentials for exactly one method.
 */
import fc from 'fast-check';
import { SECRETS } from '../helpers.js';
import { CLIENT_IDS, type Built, type Valid } from './bases.js';
import { basicHeader, FORM, headerText } from './requests.js';

export type AuthBreak =
  | { how: 'none' }
  | { how: 'wrong-secret'; secret: string }
  | { how: 'other-client-secret'; other: string }
  | { how: 'unknown-client'; id: string }
  | { how: 'garbage'; value: string }
  | { how: 'scheme'; scheme: string }
  | { how: 'suffix'; junk: string }
  | { how: 'bad-base64'; credentials: string }
  | { how: 'no-colon' }
  | { how: 'two-methods'; second: 'client_secret' | 'client_assertion' }
  | { how: 'body-client-id'; id: string }
  | { how: 'post-instead' };

export const authBreakArb: fc.Arbitrary<AuthBreak> = fc.oneof(
  fc.constant({ how: 'none' as const }),
  fc.record({ how: fc.constant('wrong-secret' as const), secret: fc.string({ maxLength: 60 }) }),
  fc.record({
    how: fc.constant('other-client-secret' as const),
    other: fc.constantFrom(...Object.keys(SECRETS)),
  }),
  fc.record({ how: fc.constant('unknown-client' as const), id: fc.string({ maxLength: 40 }) }),
  fc.record({ how: fc.constant('garbage' as const), value: headerText }),
  fc.record({
    how: fc.constant('scheme' as const),
    scheme: fc.constantFrom(
      'Bearer',
      'Digest',
      'Negotiate',
      'DPoP',
      'Basic:',
      'Basicx',
      'B',
      'basic\t',
    ),
  }),
  fc.record({
    how: fc.constant('suffix' as const),
    junk: fc.constantFrom(',', ' x', '.', ':', ' , Basic Zm9vOmJhcg==', '!', '\u00ff'),
  }),
  fc.record({ how: fc.constant('bad-base64' as const), credentials: headerText }),
  fc.constant({ how: 'no-colon' as const }),
  fc.record({
    how: fc.constant('two-methods' as const),
    second: fc.constantFrom('client_secret' as const, 'client_assertion' as const),
  }),
  fc.record({ how: fc.constant('body-client-id' as const), id: fc.string({ maxLength: 40 }) }),
  fc.constant({ how: 'post-instead' as const }),
);

export function breakAuth(valid: Valid, brk: AuthBreak): Built {
  const id = valid.client;
  const secret = SECRETS[id]!;
  const good = basicHeader(id, secret);
  const built: Built = { params: valid.params, contentType: FORM, authorization: good };
  switch (brk.how) {
    case 'none':
      return { ...built, authorization: null };
    case 'wrong-secret':
      return {
        ...built,
        authorization: basicHeader(id, brk.secret === secret ? `${secret}x` : brk.secret),
      };
    case 'other-client-secret':
      return {
        ...built,
        authorization: basicHeader(id, brk.other === id ? `${secret}x` : SECRETS[brk.other]!),
      };
    case 'unknown-client':
      return {
        ...built,
        authorization: basicHeader(CLIENT_IDS.includes(brk.id) ? `${brk.id}-x` : brk.id, secret),
      };
    case 'garbage':
      return { ...built, authorization: brk.value === good ? `${good},` : brk.value };
    case 'scheme':
      return { ...built, authorization: `${brk.scheme} ${good.slice('Basic '.length)}` };
    case 'suffix':
      return { ...built, authorization: good + brk.junk };
    case 'bad-base64':
      return { ...built, authorization: `Basic ${brk.credentials}` };
    case 'no-colon':
      return { ...built, authorization: `Basic ${Buffer.from(id + secret).toString('base64')}` };
    case 'two-methods':
      return {
        ...built,
        params: [
          ...valid.params,
          brk.second === 'client_secret'
            ? ['client_secret', secret]
            : ['client_assertion', 'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJwbGFubmVyIn0.c2ln'],
          ...(brk.second === 'client_assertion'
            ? [
                [
                  'client_assertion_type',
                  'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
                ] as const,
              ]
            : []),
        ],
      };
    case 'body-client-id': {
      const other = brk.id === id || brk.id === '' ? `${id}-x` : brk.id;
      return {
        ...built,
        params: [...valid.params.filter(([k]) => k !== 'client_id'), ['client_id', other]],
      };
    }
    case 'post-instead':
      // planner and booker are registered for client_secret_basic, not _post.
      return {
        ...built,
        authorization: null,
        params: [
          ...valid.params.filter(([k]) => k !== 'client_id'),
          ['client_id', id],
          ['client_secret', secret],
        ],
      };
  }
}
