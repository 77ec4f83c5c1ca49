import { InvalidParamsError } from "../errors.js";

/** Most URIs one session may watch at once: a client cannot grow the server's memory without bound. */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 1000;

/**
 * Who watches which resource (`resources/subscribe`), per session. Sessions leave every list when
 * they close. `S` is the host's session object.
 */
export class SubscriptionBook<S> {
  private readonly byUri = new Map<string, Set<S>>();
  private readonly bySession = new Map<S, Set<string>>();

  subscribe(session: S, uri: string): void {
    let uris = this.bySession.get(session);
    if (!uris) this.bySession.set(session, (uris = new Set()));
    if (uris.has(uri)) return;
    if (uris.size >= MAX_SUBSCRIPTIONS_PER_SESSION) {
      throw new InvalidParamsError(`Cannot subscribe to ${uri}: this session already watches ${MAX_SUBSCRIPTIONS_PER_SESSION} resources; unsubscribe from some first`);
    }
    uris.add(uri);
    let sessions = this.byUri.get(uri);
    if (!sessions) this.byUri.set(uri, (sessions = new Set()));
    sessions.add(session);
  }

  unsubscribe(session: S, uri: string): void {
    this.bySession.get(session)?.delete(uri);
    const sessions = this.byUri.get(uri);
    if (!sessions) return;
    sessions.delete(session);
    if (sessions.size === 0) this.byUri.delete(uri);
  }

  /** Forgets a closed session. */
  drop(session: S): void {
    for (const uri of this.bySession.get(session) ?? []) this.unsubscribe(session, uri);
    this.bySession.delete(session);
  }

  /** The sessions watching `uri` (a snapshot). */
  subscribers(uri: string): S[] {
    const sessions = this.byUri.get(uri);
    return sessions ? [...sessions] : [];
  }
}

/** The host side of {@link ResourceUpdates}. */
export interface ResourceUpdateSink {
  notifyResourceUpdated(uri: string): Promise<number>;
}

/**
 * Announces that a resource changed: every session subscribed to its URI gets
 * `notifications/resources/updated`. Inject it into tools (or use `server.notifyResourceUpdated`).
 *
 * @example
 * @Tool({ description: "Edit a policy" })
 * async editPolicy(input: EditPolicy, @Inject(ResourceUpdates) updates: ResourceUpdates) {
 *   await this.policies.save(input);
 *   await updates.notify(`hr://policies/${input.id}`);
 * }
 */
export class ResourceUpdates {
  constructor(private readonly sink: ResourceUpdateSink) {}

  /** Resolves to the number of sessions told. */
  notify(uri: string): Promise<number> {
    return this.sink.notifyResourceUpdated(uri);
  }
}
