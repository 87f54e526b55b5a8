// natter-peer.js: a Natter peer in a browser page, written from docs/protocol.md
// and docs/peer.md alone
//
// SPDX-License-Identifier: GPL-3.0-or-later
//
// It signs in to a natter-server, becomes the contact of one Natter user,
// and chats with them over an RTCPeerConnection: the SDP signature, the
// binding statement inside DTLS, messages, receipts, typing, a profile.
//
// The page is driven from outside: it fetches commands from `/command` on
// the origin that served it and posts what happens to `/event` (the browser
// suite of the tests does that). Query: ?server=ws://HOST:PORT/ws

"use strict";

const B32 = "abcdefghijklmnopqrstuvwxyz234567";
const utf8 = new TextEncoder();

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function base32Encode(bytes) {
  let bits = 0, value = 0, out = "";
  for (const b of bytes) {
    value = (value << 8) | b; bits += 8;
    while (bits >= 5) { out += B32[(value >>> (bits - 5)) & 31]; bits -= 5; }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

function base32Decode(text) {
  let bits = 0, value = 0;
  const out = [];
  for (const c of text) {
    const v = B32.indexOf(c);
    if (v < 0) throw new Error("not base32");
    value = (value << 5) | v; bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
  }
  return new Uint8Array(out);
}

function toBase64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), c => c.charCodeAt(0));
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function hex(bytes, separator = "") {
  return [...bytes].map(b => b.toString(16).padStart(2, "0")).join(separator);
}

// protocol.md, "User IDs"
async function userIdOf(publicKey) {
  const check = (await sha256(concat(utf8.encode("natter-id-v1"), publicKey))).slice(0, 3);
  return base32Encode(concat(publicKey, check));
}

async function publicKeyOf(userId) {
  const bytes = base32Decode(userId);
  const key = bytes.slice(0, 32);
  if (bytes.length !== 35 || (await userIdOf(key)) !== userId) throw new Error("invalid user ID");
  return crypto.subtle.importKey("raw", key, { name: "Ed25519" }, false, ["verify"]);
}

// protocol.md, "Connection life cycle": the host and port the URL names
function serverName(url) {
  const u = new URL(url);
  const port = u.port || (u.protocol === "wss:" ? "443" : "80");
  return `${u.hostname.toLowerCase()}:${port}`;
}

// peer.md, "The SDP signature"
function sdpText(from, to, session, sdp) {
  const lines = sdp.split(/\r?\n/).filter(l => /^a=(fingerprint|ice-ufrag|ice-pwd):/.test(l))
    .map(l => l.trimEnd());
  return ["natter-sdp-v2", from, to, session, ...lines].join("\n");
}

// peer.md, "The binding statement"
function bindingText(sender, receiver, session, senderFingerprint, receiverFingerprint) {
  return ["natter-binding-v1", sender, receiver, session, senderFingerprint,
          receiverFingerprint].join("\n");
}

const state = {
  id: null, privateKey: null, ws: null, answered: false,
  peerId: null, peerKey: null,
  pc: null, session: null, chat: null, makingOffer: false, descriptionSent: false,
  outCandidates: [], inCandidates: [], signedFingerprints: null,
  localFingerprint: null, remoteFingerprint: null, bound: false, badBinding: false,
};

async function sign(text) {
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, state.privateKey, utf8.encode(text));
  return toBase64(new Uint8Array(signature));
}

async function verify(text, signature) {
  try {
    return await crypto.subtle.verify({ name: "Ed25519" }, state.peerKey, fromBase64(signature),
                                      utf8.encode(text));
  } catch (error) {
    return false;
  }
}

function report(event, members = {}) {
  return fetch("/event", { method: "POST", body: JSON.stringify({ event, ...members }) });
}

// peer.md, "A browser as the other peer": one payload at a time, in order
let chain = Promise.resolve();
function serially(work) {
  chain = chain.then(work).catch(error => report("error", { message: String(error && error.stack || error) }));
}

function send(frame) {
  state.ws.send(JSON.stringify(frame));
}

function sendSignal(payload) {
  send({ type: "signal", to: state.peerId, payload });
}

function sendEnvelope(envelope) {
  state.chat.send(JSON.stringify(envelope));
}

async function onFrame(frame) {
  switch (frame.type) {
  case "hello": {
    // One challenge per connection, and only of the version we speak
    if (state.answered || frame.version !== 2) return;
    state.answered = true;
    const server = serverName(state.ws.url);
    const text = `natter-auth-v2\n${frame.nonce}\n${state.id}\n${server}`;
    send({ type: "auth", id: "auth", user: state.id, server, signature: await sign(text) });
    break;
  }
  case "auth-ok":
    report("online", { id: state.id });
    break;
  case "signal":
    if (frame.from === state.peerId) await onSignal(frame.payload);
    break;
  case "error":
    report("server-error", { code: frame.code, message: frame.message });
    break;
  default:
    report("frame", { frame });
  }
}

function closePeer() {
  if (state.pc) state.pc.close();
  Object.assign(state, { pc: null, chat: null, bound: false, descriptionSent: false,
                         outCandidates: [], inCandidates: [], makingOffer: false });
}

function newPeer(session) {
  closePeer();
  state.session = session;
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
  state.pc = pc;
  pc.onicecandidate = event => {
    const c = event.candidate;
    // Both ends are on this machine: only loopback candidates are offered
    if (!c || !c.candidate || !c.candidate.includes(" 127.0.0.1 ")) return;
    const payload = { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex,
                      session: state.session };
    if (state.descriptionSent) sendSignal(payload); else state.outCandidates.push(payload);
  };
  pc.ondatachannel = event => {
    if (event.channel.label === "chat") watchChat(event.channel);
    else if (event.channel.label.startsWith("file:")) receiveFileChannel(event.channel);
    else event.channel.close();
  };
  pc.onconnectionstatechange = () => report("pc-state", { state: pc.connectionState });
  return pc;
}

async function sendDescription(type) {
  const sdp = state.pc.localDescription.sdp;
  sendSignal({ type, sdp, session: state.session,
               sdp_sig: await sign(sdpText(state.id, state.peerId, state.session, sdp)) });
  state.descriptionSent = true;
  for (const payload of state.outCandidates.splice(0)) sendSignal(payload);
}

async function applyCandidates() {
  for (const p of state.inCandidates.splice(0))
    await state.pc.addIceCandidate({ candidate: p.candidate, sdpMid: p.sdpMid,
                                     sdpMLineIndex: p.sdpMLineIndex });
}

function signedFingerprints(sdp) {
  return sdp.split(/\r?\n/).filter(l => l.startsWith("a=fingerprint:"))
    .map(l => l.slice(14).trim());
}

async function onSignal(p) {
  const polite = state.id < state.peerId;

  if (p.type === "offer" || p.type === "answer") {
    if (p.type === "offer" && state.makingOffer && !polite) return;
    if (p.type === "answer" && (!state.makingOffer || p.session !== state.session)) return;
    if (!(await verify(sdpText(state.peerId, state.id, p.session, p.sdp), p.sdp_sig))) {
      report("trust-failure", { reason: "sdp signature" });
      sendSignal({ type: "bye", session: p.session });
      return;
    }
    if (p.type === "offer") {
      newPeer(p.session);
      await state.pc.setRemoteDescription({ type: "offer", sdp: p.sdp });
      state.signedFingerprints = signedFingerprints(p.sdp);
      await applyCandidates();
      await state.pc.setLocalDescription(await state.pc.createAnswer());
      await sendDescription("answer");
    } else {
      await state.pc.setRemoteDescription({ type: "answer", sdp: p.sdp });
      state.makingOffer = false;
      state.signedFingerprints = signedFingerprints(p.sdp);
      await applyCandidates();
    }
    report("negotiated", { role: p.type === "offer" ? "answerer" : "offerer", session: p.session });
  } else if (p.type === "bye") {
    if (p.session === state.session) { report("bye"); closePeer(); }
  } else if (typeof p.candidate === "string") {
    if (p.session !== state.session || p.candidate === "" || !state.pc) return;
    if (state.pc.remoteDescription) await state.pc.addIceCandidate(p); else state.inCandidates.push(p);
  }
}

async function connect() {
  const session = hex(crypto.getRandomValues(new Uint8Array(8)));
  const pc = newPeer(session);
  state.makingOffer = true;
  watchChat(pc.createDataChannel("chat", { ordered: true }));
  await pc.setLocalDescription(await pc.createOffer());
  await sendDescription("offer");
}

function watchChat(channel) {
  state.chat = channel;
  channel.onopen = () => serially(onChatOpen);
  channel.onmessage = event => serially(() => onChatMessage(event.data));
  channel.onclose = () => report("chat-closed");
}

// peer.md, "The binding statement": first check the certificate, then say
// who we are over this very DTLS session
async function onChatOpen() {
  const der = state.pc.sctp.transport.getRemoteCertificates()[0];
  state.remoteFingerprint = "sha-256 " + hex(await sha256(new Uint8Array(der)), ":").toUpperCase();
  if (!state.signedFingerprints.some(f => f.toUpperCase() === state.remoteFingerprint.toUpperCase())) {
    report("trust-failure", { reason: "certificate" });
    closePeer();
    return;
  }
  const local = signedFingerprints(state.pc.localDescription.sdp)
    .find(f => f.toLowerCase().startsWith("sha-256 "));
  state.localFingerprint = "sha-256 " + local.slice(8).toUpperCase();

  const receiver = state.badBinding ? state.id : state.peerId;
  const text = bindingText(state.id, receiver, state.session, state.localFingerprint,
                           state.remoteFingerprint);
  sendEnvelope({ type: "binding", sender: state.id, receiver, session: state.session,
                 sender_fingerprint: state.localFingerprint,
                 receiver_fingerprint: state.remoteFingerprint, signature: await sign(text) });
  report("binding-sent");
}

async function checkBinding(data) {
  let b;
  try { b = JSON.parse(data); } catch (error) { return "not JSON"; }
  if (b.type !== "binding") return "not a binding";
  if (b.sender !== state.peerId || b.receiver !== state.id) return "someone else";
  if (b.session !== state.session) return "another session";
  if (b.sender_fingerprint !== state.remoteFingerprint ||
      b.receiver_fingerprint !== state.localFingerprint) return "other certificates";
  const text = bindingText(state.peerId, state.id, state.session, state.remoteFingerprint,
                           state.localFingerprint);
  return (await verify(text, b.signature)) ? null : "signature";
}

async function onChatMessage(data) {
  if (typeof data !== "string") return;
  if (!state.bound) {
    const wrong = await checkBinding(data);
    if (wrong !== null) {
      report("trust-failure", { reason: wrong });
      sendSignal({ type: "bye", session: state.session });
      closePeer();
      return;
    }
    state.bound = true;
    report("bound", { session: state.session });
    return;
  }

  const envelope = JSON.parse(data);
  report(envelope.type, { envelope });
  if (envelope.type === "message")
    sendEnvelope({ type: "receipt", ids: [envelope.id], status: "delivered" });
  else if (envelope.type in fileEnvelopes)
    await fileEnvelopes[envelope.type](envelope);
}

// peer.md, "Files". Whole files are kept in memory here: this page is a test
// peer, not a client for large files.
const CHUNK = 65536;
const outgoing = new Map();   // id -> { bytes, sha256, position }
const incoming = new Map();   // id -> { size, chunks, received, sha256 }

async function maybeComplete(id) {
  const t = incoming.get(id);
  if (!t || t.received !== t.size || !t.sha256) return;
  incoming.delete(id);
  const digest = hex(await sha256(concat(...t.chunks)));
  if (digest === t.sha256) {
    sendEnvelope({ type: "file-received", id, sha256: digest });
    report("file-arrived", { id, name: t.name, size: t.size, sha256: digest });
  } else {
    sendEnvelope({ type: "file-cancel", id, reason: "checksum" });
    report("file-damaged", { id });
  }
}

function receiveFileChannel(channel) {
  const [, id, start] = channel.label.match(/^file:(.*):([0-9]+)$/) || [];
  const t = incoming.get(id);
  if (!t || Number(start) !== t.received) { channel.close(); return; }
  channel.binaryType = "arraybuffer";
  channel.onmessage = event => {
    if (typeof event.data === "string") return;
    t.chunks.push(new Uint8Array(event.data));
    t.received += event.data.byteLength;
    serially(() => maybeComplete(id));
  };
}

function pumpFile(id, channel) {
  const t = outgoing.get(id);
  // At most about 256 KiB buffered, so that chat is not held up
  while (t.position < t.bytes.length && channel.bufferedAmount <= 262144) {
    channel.send(t.bytes.subarray(t.position, t.position + CHUNK));
    t.position = Math.min(t.bytes.length, t.position + CHUNK);
  }
  if (t.position < t.bytes.length) return;
  channel.onbufferedamountlow = null;
  sendEnvelope({ type: "file-done", id, size: t.bytes.length, sha256: t.sha256 });
}

const fileEnvelopes = {
  "file-offer"(e) {
    if (state.declineFiles) {
      sendEnvelope({ type: "file-decline", id: e.id, reason: "declined" });
      return;
    }
    incoming.set(e.id, { name: e.name, size: e.size, chunks: [], received: 0, sha256: null });
    sendEnvelope({ type: "file-accept", id: e.id, offset: 0 });
  },
  "file-done"(e) {
    const t = incoming.get(e.id);
    if (t) { t.sha256 = e.sha256; return maybeComplete(e.id); }
  },
  "file-accept"(e) {
    const t = outgoing.get(e.id);
    if (!t) return;
    // This page keeps nothing across connections: it always starts from 0
    t.position = 0;
    if (t.bytes.length === 0) {
      sendEnvelope({ type: "file-done", id: e.id, size: 0, sha256: t.sha256 });
      return;
    }
    const channel = state.pc.createDataChannel(`file:${e.id}:0`, { ordered: true });
    channel.bufferedAmountLowThreshold = 65536;
    channel.onopen = () => pumpFile(e.id, channel);
    channel.onbufferedamountlow = () => pumpFile(e.id, channel);
  },
  "file-received"(e) { report("file-confirmed", { id: e.id, sha256: e.sha256 }); },
};

async function pictureEnvelopes(bytes) {
  const digest = hex(await sha256(bytes));
  const count = Math.ceil(bytes.length / 32768);
  const pieces = [];
  for (let i = 0; i < count; i++)
    pieces.push({ type: "avatar", sha256: digest, size: bytes.length, index: i, count,
                  data: toBase64(bytes.slice(i * 32768, (i + 1) * 32768)) });
  return { digest, pieces };
}

const commands = {
  async peer(c) { state.peerId = c.id; state.peerKey = await publicKeyOf(c.id); },
  invite(c) { send({ type: "invite", id: "invite", to: state.peerId, text: c.text || "" }); },
  connect() { return connect(); },
  badBinding(c) { state.badBinding = c.on; },
  message(c) {
    const id = crypto.randomUUID();
    sendEnvelope({ type: "message", id, ts: Date.now(), body: c.body });
    report("sent", { id, body: c.body });
  },
  receipt(c) { sendEnvelope({ type: "receipt", ids: c.ids, status: c.status }); },
  async sendFile(c) {
    const bytes = new Uint8Array(c.size);
    for (let i = 0; i < bytes.length; i += 65536)
      crypto.getRandomValues(bytes.subarray(i, i + 65536));
    const id = crypto.randomUUID();
    const digest = hex(await sha256(bytes));
    outgoing.set(id, { bytes, sha256: digest, position: 0 });
    sendEnvelope({ type: "file-offer", id, name: c.name, size: bytes.length, mime: c.mime });
    report("file-offered", { id, sha256: digest });
  },
  declineFiles(c) { state.declineFiles = c.on; },
  typing(c) { sendEnvelope({ type: "typing", active: c.active }); },
  raw(c) { state.chat.send(c.text); },
  async profile(c) {
    const bytes = c.picture ? fromBase64(c.picture) : null;
    const picture = bytes ? await pictureEnvelopes(bytes) : null;
    const profile = { type: "profile", name: c.name };
    if (picture) profile.avatar_sha256 = picture.digest;
    sendEnvelope(profile);
    for (const piece of picture ? picture.pieces : []) sendEnvelope(piece);
  },
};

async function pollCommands() {
  for (;;) {
    const response = await fetch("/command");
    for (const c of await response.json())
      serially(() => commands[c.op](c));
    if (!response.ok) await new Promise(resolve => setTimeout(resolve, 200));
  }
}

async function main() {
  const server = new URLSearchParams(location.search).get("server");
  // Chromium offers host candidates (127.0.0.1 among them) only to a page
  // that may use media
  try {
    (await navigator.mediaDevices.getUserMedia({ audio: true })).getTracks().forEach(t => t.stop());
  } catch (error) {
    report("no-media", { message: String(error) });
  }

  const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  state.privateKey = keys.privateKey;
  state.id = await userIdOf(new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey)));
  report("ready", { id: state.id });

  state.ws = new WebSocket(server);
  state.ws.onmessage = event => serially(() => onFrame(JSON.parse(event.data)));
  state.ws.onclose = event => report("server-closed", { code: event.code });
  pollCommands();
}

main().catch(error => report("error", { message: String(error && error.stack || error) }));
