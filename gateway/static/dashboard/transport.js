// How the dashboard talks to the gateway: GraphQL over HTTP for reads and writes, and a small client of the
// graphql-transport-ws protocol for live updates (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).
//
// The live client keeps one socket and every subscription the page wants. It signs in with connection_init
// {Authorization: "Bearer <token>"}, answers pings, pings the server itself to notice a dead connection (a wall
// screen's network fails silently), reconnects with exponential backoff and jitter, and resubscribes everything
// once the new connection is acknowledged. A close with 4403 means the token was refused or has expired: no
// reconnecting then, the page goes back to its sign-in.

const TRANSPORT = "graphql-transport-ws";
const FORBIDDEN_CLOSE = 4403;
const ACK_TIMEOUT_MS = 10_000;
const KEEPALIVE_MS = 20_000;
const PONG_TIMEOUT_MS = 10_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** A GraphQL error as the gateway sends it: a message and a stable `extensions.code`. */
export function errorCode(error) {
  return (error && error.extensions && error.extensions.code) || "INTERNAL";
}

/** "CODE: message" for people; the code is what to act on. */
export function describeError(error) {
  return `${errorCode(error)}: ${(error && error.message) || "unknown error"}`;
}

/** Thrown by `request` when the operation answered no data at all. */
export class GraphQLFailure extends Error {
  constructor(errors) {
    super(errors.map(describeError).join("; "));
    this.errors = errors;
    this.code = errorCode(errors[0]);
  }
}

/** The endpoint next to the page, so that a gateway served under a path prefix works too. */
export function endpoint() {
  return new URL("graphql", document.baseURI).href;
}

/** POSTs one operation; resolves to {data, errors} (errors may be partial), rejects with GraphQLFailure. */
export async function request(token, query, variables = {}) {
  let response;
  try {
    response = await fetch(endpoint(), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      cache: "no-store",
    });
  } catch (e) {
    throw new GraphQLFailure([{ message: `the gateway is unreachable (${e.message})`,
                                extensions: { code: "UNREACHABLE" } }]);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphQLFailure([{ message: `HTTP ${response.status} without a GraphQL answer`,
                                extensions: { code: response.status === 401 ? "UNAUTHENTICATED" : "INTERNAL" } }]);
  }
  const errors = Array.isArray(body.errors) ? body.errors : [];
  if (body.data == null) {
    throw new GraphQLFailure(errors.length ? errors : [{ message: "no data", extensions: { code: "INTERNAL" } }]);
  }
  return { data: body.data, errors };
}

/** The socket's URL: the GraphQL endpoint with ws: or wss:. */
function socketURL() {
  return endpoint().replace(/^http/, "ws");
}

/**
 * One graphql-transport-ws connection and its subscriptions.
 *
 *   const live = new LiveClient(token, {onState(state, detail) {…}, onSignedOut(reason) {…}});
 *   const stop = live.subscribe(QUERY, {id}, {next(result) {…}, error(errors) {…}});
 *
 * States: "connecting" (first connection), "live" (acknowledged), "reconnecting" (waiting to try again),
 * "signed-out" (4403: the token was refused), "closed" (by `close()`).
 */
export class LiveClient {
  constructor(token, { onState = () => {}, onSignedOut = () => {}, onReconnected = () => {} } = {}) {
    this.token = token;
    this.onState = onState;
    this.onSignedOut = onSignedOut;
    this.onReconnected = onReconnected;
    this.subscriptions = new Map(); // id → {query, variables, sink}
    this.nextId = 1;
    this.attempt = 0;
    this.acknowledged = false;
    this.everAcknowledged = false;
    this.socket = null;
    this.timers = new Set();
    this.state = "connecting";
    this.onlineListener = () => this.reconnectNow();
    window.addEventListener("online", this.onlineListener);
    this.connect();
  }

  subscribe(query, variables, sink) {
    const id = String(this.nextId++);
    this.subscriptions.set(id, { query, variables, sink });
    if (this.acknowledged) this.sendSubscribe(id);
    return () => {
      if (!this.subscriptions.delete(id)) return;
      if (this.acknowledged) this.send({ id, type: "complete" });
    };
  }

  /** Goes on with a renewed token: a new connection signs in with it, and every subscription is sent again
   *  (each first answers its current state, so nothing is missed). The old socket would end at its token's
   *  expiry. */
  renew(token) {
    this.token = token;
    if (this.state === "closed" || this.state === "signed-out") return;
    const old = this.socket;
    this.socket = null;
    this.clearTimers();
    if (old) old.close(1000, "renewing the token");
    this.attempt = 0;
    this.connect();
  }

  close() {
    this.setState("closed");
    window.removeEventListener("online", this.onlineListener);
    this.subscriptions.clear();
    this.clearTimers();
    if (this.socket) this.socket.close(1000, "closed by the page");
    this.socket = null;
  }

  // -- the connection ------------------------------------------------------------------------------------------

  connect() {
    if (this.state === "closed" || this.state === "signed-out") return;
    this.setState(this.everAcknowledged || this.attempt > 0 ? "reconnecting" : "connecting");
    this.acknowledged = false;
    let socket;
    try {
      socket = new WebSocket(socketURL(), TRANSPORT);
    } catch (e) {
      this.retry(`cannot open a socket: ${e.message}`);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.send({ type: "connection_init", payload: { Authorization: `Bearer ${this.token}` } });
      this.later(ACK_TIMEOUT_MS, () => {
        if (this.socket === socket && !this.acknowledged) socket.close(4408, "no connection_ack");
      }, "ack");
    };
    socket.onmessage = (event) => this.receive(socket, event.data);
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.acknowledged = false;
      this.clearTimers();
      if (event.code === FORBIDDEN_CLOSE) {
        this.setState("signed-out");
        this.onSignedOut(event.reason || "Forbidden");
        return;
      }
      this.retry(event.reason || `closed (${event.code})`);
    };
  }

  receive(socket, text) {
    if (this.socket !== socket) return;
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      socket.close(4400, "invalid message");
      return;
    }
    this.alive();
    const sub = message.id !== undefined ? this.subscriptions.get(message.id) : undefined;
    switch (message.type) {
      case "connection_ack":
        this.acknowledged = true;
        this.attempt = 0;
        this.clearTimer("ack");
        this.setState("live");
        for (const id of this.subscriptions.keys()) this.sendSubscribe(id);
        if (this.everAcknowledged) this.onReconnected();
        this.everAcknowledged = true;
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      case "pong":
        break;
      case "next":
        if (sub) sub.sink.next(message.payload || {});
        break;
      case "error":
        // The operation is over on the server; a later reconnect does not bring it back.
        this.subscriptions.delete(message.id);
        if (sub) sub.sink.error(Array.isArray(message.payload) ? message.payload : [message.payload]);
        break;
      case "complete":
        this.subscriptions.delete(message.id);
        if (sub && sub.sink.complete) sub.sink.complete();
        break;
      default:
        break;
    }
  }

  sendSubscribe(id) {
    const { query, variables } = this.subscriptions.get(id);
    this.send({ id, type: "subscribe", payload: { query, variables } });
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /** Any message proves the connection; a ping goes out after a quiet spell, and no answer ends the socket. */
  alive() {
    this.clearTimer("pong");
    this.later(KEEPALIVE_MS, () => {
      const socket = this.socket;
      if (!socket || !this.acknowledged) return;
      this.send({ type: "ping" });
      this.later(PONG_TIMEOUT_MS, () => {
        if (this.socket === socket) socket.close(4000, "no pong");
      }, "pong");
    }, "keepalive");
  }

  retry(why) {
    if (this.state === "closed" || this.state === "signed-out") return;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * ceiling / 2;
    this.attempt += 1;
    this.setState("reconnecting", why);
    this.later(delay, () => this.connect(), "retry");
  }

  /** The browser says the network is back: try now rather than at the end of the backoff. */
  reconnectNow() {
    if (this.socket || this.state === "closed" || this.state === "signed-out") return;
    this.clearTimer("retry");
    this.connect();
  }

  setState(state, detail = "") {
    this.state = state;
    this.onState(state, detail);
  }

  // -- timers, by name so that each kind runs once at a time --------------------------------------------------

  later(ms, fn, name) {
    this.clearTimer(name);
    const timer = { name, handle: setTimeout(() => { this.timers.delete(timer); fn(); }, ms) };
    this.timers.add(timer);
  }

  clearTimer(name) {
    for (const timer of this.timers) {
      if (timer.name === name) {
        clearTimeout(timer.handle);
        this.timers.delete(timer);
      }
    }
  }

  clearTimers() {
    for (const timer of this.timers) clearTimeout(timer.handle);
    this.timers.clear();
  }
}
