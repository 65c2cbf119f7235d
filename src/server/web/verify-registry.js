// Who may sign, replayed from the log's registry entries as the Rust code replays them
// (src/registry.rs, src/policy.rs), so that the in-browser verifier judges a signer's
// authority by the same rules.
//
// Positions: the entry at index p is judged by the registry as it stood after every
// registry entry before p. A key added by the entry at index a signs for entries after a;
// a key revoked by the entry at index r signs nothing after r, and its entries from
// `compromised_since` on are suspect; a removed participant's keys sign nothing after
// the removal. Indexes are BigInts.

import * as c from "./verify-core.js";
import { DEFAULT_DISPUTE_WINDOW_DAYS, parseUtc, participantOf, REGISTRY_SUBJECT } from "./verify-records.js";

/** The subject of participant `id`'s registry chain: `registry:<id>`. */
export const participantSubject = (id) => `${REGISTRY_SUBJECT}:${id}`;

export const hasRole = (p, role) => p.roles.includes(role);

/** Whether participant `p` may sign as supplier `id`. */
export const isSupplier = (p, id) => hasRole(p, "supplier") && p.supplierIds.includes(id);

async function parseKey(key) {
  let v;
  try {
    v = await c.parseVerifierKey(key);
  } catch (e) {
    throw new Error(`invalid registry statement: malformed verifier key: ${e.message}`);
  }
  if (c.isWeakKey(v.publicKey)) throw new Error(`key ${key} is a weak Ed25519 key`);
  return v;
}

export class Registry {
  constructor(threshold) {
    this.threshold = threshold;
    /** Days a supplier has to dispute a record, once governance set it (BigInt), else null. */
    this.disputeWindowDays = null;
    /** id → participant: {id, name, roles, supplierIds, accreditation, registeredAt, removedAt, keys} */
    this.participants = new Map();
    /** key id (8 lowercase hex) → {pid, publicKey} */
    this.keys = new Map();
  }

  clone() {
    const r = new Registry(this.threshold);
    r.disputeWindowDays = this.disputeWindowDays;
    for (const [id, p] of this.participants) r.participants.set(id, { ...p, keys: p.keys.map((k) => ({ ...k })) });
    r.keys = new Map(this.keys);
    return r;
  }

  /** The registry a genesis statement at index 0 creates (`Registry::genesis`). */
  static async genesis(s) {
    if (s.type !== "genesis") throw new Error("the log's first entry must be a genesis statement");
    const r = new Registry(s.threshold);
    for (const p of s.participants) await r.register(p, 0n, true);
    r.checkThreshold();
    return r;
  }

  async register(spec, index, genesis) {
    if (this.participants.has(spec.id)) throw new Error(`participant ${spec.id} is already registered`);
    // Every key checked before any is taken: all or nothing.
    const parsed = [];
    for (const k of spec.keys) {
      const v = await parseKey(k);
      if (this.keys.has(v.keyIdHex) || parsed.some((x) => x.keyIdHex === v.keyIdHex)) {
        throw new Error(`key id ${v.keyIdHex} is already registered (key ids must be unique)`);
      }
      parsed.push(v);
    }
    const keys = [];
    for (const k of spec.keys) keys.push(await this.newKey(spec.id, k, index));
    this.participants.set(spec.id, {
      id: spec.id,
      name: spec.name,
      roles: spec.roles,
      supplierIds: spec.supplier_ids,
      accreditation: spec.accreditation,
      registeredAt: genesis ? 0n : index,
      removedAt: null,
      keys,
    });
  }

  async newKey(pid, key, index) {
    const v = await parseKey(key);
    if (this.keys.has(v.keyIdHex)) throw new Error(`key id ${v.keyIdHex} is already registered (key ids must be unique)`);
    this.keys.set(v.keyIdHex, { pid, publicKey: v.publicKey });
    return { key, keyId: v.keyIdHex, addedAt: index, revokedAt: null, compromisedSince: null };
  }

  /** Governance participants that can still sign: not removed, with a live key. */
  liveGovernanceMembers() {
    let n = 0;
    for (const p of this.participants.values()) {
      if (hasRole(p, "governance") && p.removedAt === null && p.keys.some((k) => k.revokedAt === null)) n++;
    }
    return n;
  }

  checkThreshold() {
    const left = this.liveGovernanceMembers();
    if (BigInt(left) < this.threshold) throw belowThreshold(left, this.threshold);
  }

  /** Applies the registry change made by the entry at `index`, all or nothing (`Registry::apply`). */
  async apply(s, index) {
    let loses = null;
    if (s.type === "revoke_key") {
      const p = this.participants.get(s.participant);
      const live = p ? p.keys.filter((k) => k.revokedAt === null) : [];
      if (live.length === 1 && live[0].keyId === s.key_id) loses = p;
    } else if (s.type === "remove") {
      loses = this.participants.get(s.participant) ?? null;
    }
    if (loses && hasRole(loses, "governance") && loses.removedAt === null && loses.keys.some((k) => k.revokedAt === null)) {
      const left = this.liveGovernanceMembers() - 1;
      if (BigInt(left) < this.threshold) throw belowThreshold(left, this.threshold);
    }
    switch (s.type) {
      case "genesis":
        throw new Error("the genesis statement can only be the log's first entry");
      case "register":
        return this.register(s.participant, index, false);
      case "add_key": {
        this.liveParticipant(s.participant);
        const record = await this.newKey(s.participant, s.key, index);
        this.liveParticipant(s.participant).keys.push(record);
        return;
      }
      case "revoke_key": {
        if (typeof s.compromised_since === "bigint" && s.compromised_since >= index) {
          throw new Error("compromised_since must be before the revocation");
        }
        const k = this.liveParticipant(s.participant).keys.find((k) => k.keyId === s.key_id);
        if (!k) throw new Error(`participant ${s.participant} has no key ${s.key_id}`);
        if (k.revokedAt !== null) throw new Error(`key ${s.key_id} is already revoked`);
        k.revokedAt = index;
        k.compromisedSince = s.compromised_since;
        return;
      }
      case "remove":
        this.liveParticipant(s.participant).removedAt = index;
        return;
      case "set_threshold": {
        const left = this.liveGovernanceMembers();
        if (BigInt(left) < s.threshold) throw belowThreshold(left, s.threshold);
        this.threshold = s.threshold;
        return;
      }
      case "set_dispute_window":
        this.disputeWindowDays = s.days;
        return;
    }
  }

  /** How long after a record is logged its supplier may dispute it, in days (BigInt). */
  disputeWindowDaysOrDefault() {
    return this.disputeWindowDays ?? BigInt(DEFAULT_DISPUTE_WINDOW_DAYS);
  }

  liveParticipant(id) {
    const p = this.participants.get(id);
    if (!p) throw new Error(`participant ${id} is not registered`);
    if (p.removedAt !== null) throw new Error(`participant ${id} was removed`);
    return p;
  }

  /** The subject a registry change is filed under (`Registry::subject_of`). */
  subjectOf(s) {
    let governance;
    if (s.type === "genesis" || s.type === "set_threshold" || s.type === "set_dispute_window") governance = true;
    else if (s.type === "register") governance = s.participant.roles.includes("governance");
    else {
      const p = this.participants.get(s.participant);
      governance = !p || hasRole(p, "governance");
    }
    const id = participantOf(s);
    return id !== null && !governance ? participantSubject(id) : REGISTRY_SUBJECT;
  }

  /** The participant, key record and public key behind a key id, whatever their state. */
  key(keyId) {
    const k = this.keys.get(keyId);
    if (!k) return null;
    const p = this.participants.get(k.pid);
    const record = p && p.keys.find((r) => r.keyId === keyId);
    return record ? { participant: p, record, publicKey: k.publicKey } : null;
  }

  /** The participant whose key `keyId` may sign the entry at `position`, and the key. */
  signerAt(keyId, position) {
    const found = this.key(keyId);
    if (!found) return null;
    const { participant: p, record: k } = found;
    const keyLive = k.addedAt < position || (k.addedAt === 0n && position === 0n);
    const notRevoked = k.revokedAt === null || position <= k.revokedAt;
    const active = p.registeredAt < position && (p.removedAt === null || position <= p.removedAt);
    const participantLive = active || (p.registeredAt === 0n && position === 0n);
    return keyLive && notRevoked && participantLive ? found : null;
  }

  /** Whether key `keyId`, authorised at `position`, was later found compromised from then. */
  isSuspect(keyId, position, loggedAt) {
    const found = this.signerAt(keyId, position);
    if (!found) return false;
    const since = found.record.compromisedSince;
    if (since === null) return false;
    if (typeof since === "bigint") return position >= since;
    try {
      return parseUtc("logged_at", loggedAt) >= parseUtc("compromised_since", since);
    } catch {
      return false;
    }
  }
}

function belowThreshold(left, threshold) {
  return new Error(`the change would leave ${left} governance participants able to sign, fewer than the ${threshold} a change needs`);
}

/** The buyer a purchasing-practice statement is about is a registered buyer at `position` (`check_buyer`). */
export function checkBuyer(registry, statement, position) {
  if (statement.kind !== "purchasing_practice" || statement.buyer === null) return;
  const p = registry.participants.get(statement.buyer);
  const active = p && p.registeredAt < position && (p.removedAt === null || position <= p.removedAt);
  if (!(active && hasRole(p, "buyer"))) throw new Error(`${statement.buyer} is not a buyer registered at this log position`);
}

/** Enough distinct governance participants signed a registry change (`check_governance`). */
export function checkGovernance(registry, keyIds, position) {
  const have = new Set();
  for (const k of keyIds) {
    const s = registry.signerAt(k, position);
    if (s && hasRole(s.participant, "governance")) have.add(s.participant.id);
  }
  if (BigInt(have.size) < registry.threshold) {
    throw new Error(`a registry change needs signatures by ${registry.threshold} governance participants, it has ${have.size}`);
  }
}

const NEEDS = {
  audit: "auditor",
  corrective_action: "auditor",
  remediation: "auditor",
  metric: "auditor, or supplier of this id",
  rating: "buyer",
  incentive: "buyer",
  response: "supplier of this id",
  dispute: "supplier of this id",
  purchasing_practice: "supplier of this id, about a registered buyer",
  profile: "supplier of this id, or governance",
  alias: "governance, or the supplier of both ids",
};

/** Whether `p` may sign `statement` (`policy::authorise`; amends are checked by references). */
export function authorise(p, statement) {
  const kind = statement.kind;
  const needs = kind === "response" && statement.buyer !== null ? "the buyer it is about" : NEEDS[kind];
  const wrongRole = () => new Error(`${p.id} may not sign a statement of kind ${kind}: that needs ${needs}`);
  const ownSupplier = () => {
    if (!isSupplier(p, statement.supplier.id)) throw new Error(`${p.id} may only sign about its own supplier ids, not ${statement.supplier.id}`);
  };
  switch (kind) {
    case "audit":
    case "corrective_action":
    case "remediation":
      if (!hasRole(p, "auditor")) throw wrongRole();
      return;
    case "metric":
    case "response":
    case "dispute":
    case "purchasing_practice":
      if (kind === "metric" && hasRole(p, "auditor")) return;
      if (kind === "response" && statement.buyer !== null) {
        if (statement.buyer === p.id && hasRole(p, "buyer")) return;
        throw wrongRole();
      }
      if (hasRole(p, "supplier")) return ownSupplier();
      throw wrongRole();
    case "rating":
    case "incentive":
      if (!hasRole(p, "buyer")) throw wrongRole();
      return;
    case "profile":
    case "alias":
      if (hasRole(p, "governance")) return;
      if (kind === "profile" && hasRole(p, "supplier")) return ownSupplier();
      if (kind === "alias" && statement.alias_of !== null && isSupplier(p, statement.alias_of)) return ownSupplier();
      throw wrongRole();
    default:
      return;
  }
}

