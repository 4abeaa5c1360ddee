// A node-oidc-provider adapter keeping the provider's state in Redis, written for these
// benchmarks (server.mjs uses it with PEER_ADAPTER=redis).
//
// Why: the library's default memory adapter is, in its own start-up warning, "a quick start
// development-only in-memory adapter ... you MUST change it in order to not lose all stateful
// provider data upon restart and to be able to share these between processes".  This OP keeps
// sessions and codes in Redis and grants in PostgreSQL, so the peer as the library tells a
// deployment to run it keeps its sessions, grants, codes and tokens in a shared store too.
//
// Every stored model instance is one Redis hash (`payload`: the JSON the provider gave,
// `consumed`: when it was consumed) expiring with it; a grant's members (a list of keys),
// session uids and user codes are indexes beside it.  Keys start with `peer:<PEER_REDIS_PREFIX>`
// (bench/peer.py gives each run its own prefix and deletes its keys when the peer stops).
import Redis from 'ioredis';

const client = new Redis(process.env.PEER_REDIS_URL || 'redis://127.0.0.1:6379/0', {
  keyPrefix: `peer:${process.env.PEER_REDIS_PREFIX || ''}`,
});

// Mark consumed only what exists (a consume of an expired key must not create one).
client.defineCommand('consumeIfPresent', {
  numberOfKeys: 1,
  lua: "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'consumed', ARGV[1]) end",
});

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

function expireWith(multi, key, expiresIn) {
  if (expiresIn) {
    multi.expire(key, expiresIn);
  }
}

export default class RedisAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const multi = client.multi();
    multi.del(key);
    multi.hset(key, 'payload', JSON.stringify(payload));
    expireWith(multi, key, expiresIn);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      multi.rpush(grantKey, key);
      if (expiresIn) { // the index lives as long as its longest-lived member
        multi.expire(grantKey, expiresIn, 'NX');
        multi.expire(grantKey, expiresIn, 'GT');
      }
    }
    if (payload.userCode) {
      multi.set(`userCode:${payload.userCode}`, id);
      expireWith(multi, `userCode:${payload.userCode}`, expiresIn);
    }
    if (this.model === 'Session' && payload.uid) {
      multi.set(`sessionUid:${payload.uid}`, id);
      expireWith(multi, `sessionUid:${payload.uid}`, expiresIn);
    }
    await multi.exec();
  }

  async find(id) {
    const [payload, consumed] = await client.hmget(this.key(id), 'payload', 'consumed');
    if (!payload) {
      return undefined;
    }
    const found = JSON.parse(payload);
    if (consumed) {
      found.consumed = Number(consumed);
    }
    return found;
  }

  async findByUid(uid) {
    const id = await client.get(`sessionUid:${uid}`);
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(userCode) {
    const id = await client.get(`userCode:${userCode}`);
    return id ? this.find(id) : undefined;
  }

  async consume(id) {
    await client.consumeIfPresent(this.key(id), Math.floor(Date.now() / 1000));
  }

  async destroy(id) {
    await client.del(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const grantKey = `grant:${grantId}`;
    const members = await client.lrange(grantKey, 0, -1);
    const multi = client.multi();
    for (const key of members) {
      multi.del(key);
    }
    multi.del(grantKey);
    await multi.exec();
  }
}
