/**
 * The message index's keys. An index entry holds the CRC32 of its key's UTF-8 text, where the
 * key is one of
 *
 *   {topic}#{key}            a user key (KEYS), per topic
 *   #msgId#{MSGID}           a producer msgId, upper-cased
 *   #dedup#{topic}#{key}     a dedup key, per topic, apart from the user's keys
 *   #sendBack#{key}          a send-back copy's SEND_BACK_KEY
 *
 * The text is never built: CRC32 continues from a seed, so the CRC of a fixed prefix is computed
 * once and each part is hashed on from there (the same value as hashing the joined text, which
 * files written before keep finding). Every append indexes its msgId, so this saves a string
 * concatenation and its flattening per message.
 */

declare const indexKeyBrand: unique symbol;
/** The CRC32 (unsigned) of an index key's text. */
export type IndexKey = number & { readonly [indexKeyBrand]: true };

const crc32 = Bun.hash.crc32;
const msgIdSeed = crc32("#msgId#");
const dedupSeed = crc32("#dedup#");
const sendBackSeed = crc32("#sendBack#");

/** The key of any text (what the others compute without building their text). */
export function indexKeyOf(text: string): IndexKey {
  return (crc32(text) >>> 0) as IndexKey;
}

export function keyIndexKey(topic: string, key: string): IndexKey {
  return (crc32(key, crc32("#", crc32(topic))) >>> 0) as IndexKey;
}

export function msgIdIndexKey(msgId: string): IndexKey {
  return (crc32(msgId.toUpperCase(), msgIdSeed) >>> 0) as IndexKey;
}

export function dedupKeyIndexKey(topic: string, dedupKey: string): IndexKey {
  return (crc32(dedupKey, crc32("#", crc32(topic, dedupSeed))) >>> 0) as IndexKey;
}

export function sendBackIndexKey(sendBackKey: string): IndexKey {
  return (crc32(sendBackKey, sendBackSeed) >>> 0) as IndexKey;
}
