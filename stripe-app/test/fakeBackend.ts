// A fake `fetch` that answers as Kobling's backend does, with the JSON in fixtures/backend.json
// (generated from the status service's model: tests/unit/test_stripe_app_fixtures.py).
import fixtures from './fixtures/backend.json';

export const STATUS_URL = 'https://status.kobling.test';
export const ECON_AUTH_URL = 'https://econ-auth.kobling.test';

export type StatusName = keyof typeof fixtures.status;

// `raw` is the body exactly as sent: the backend verifies Stripe's signature over those bytes.
type Sent = {url: string; signature: string | null; raw: string; body: Record<string, unknown>};

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {status, headers: {'Content-Type': 'application/json'}});

export class FakeBackend {
  sent: Sent[] = [];
  // What an approve, refuse or cancel of a request to join answers.
  joinAnswer: 'answered' | 'no_join_request' = 'answered';
  // What /api/status answers next; the last one repeats.
  private statuses: (StatusName | 'not_installed' | 'down')[];

  constructor(...statuses: (StatusName | 'not_installed' | 'down')[]) {
    this.statuses = statuses;
  }

  then(...statuses: (StatusName | 'not_installed' | 'down')[]) {
    this.statuses = statuses;
  }

  sentTo(path: string): Sent[] {
    return this.sent.filter((request) => request.url.endsWith(path));
  }

  fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const headers = new Headers(init?.headers);
    const raw = String(init?.body);
    const body = JSON.parse(raw) as Record<string, unknown>;
    this.sent.push({url, signature: headers.get('Stripe-Signature'), raw, body});
    if (url === `${STATUS_URL}/api/status`) {
      const next = this.statuses.length > 1 ? this.statuses.shift() : this.statuses[0];
      if (next === 'down' || next === undefined) {
        throw new TypeError('Failed to fetch');
      }
      return next === 'not_installed'
        ? json(fixtures.not_installed, 404)
        : json(fixtures.status[next]);
    }
    if (url === `${ECON_AUTH_URL}/api/connect-link`) {
      return json(fixtures.connect_link);
    }
    if (url === `${ECON_AUTH_URL}/api/disconnect`) {
      return json(fixtures.disconnected);
    }
    if (url.startsWith(`${ECON_AUTH_URL}/api/join/`)) {
      return this.joinAnswer === 'answered'
        ? json(fixtures.answered)
        : json(fixtures.no_join_request, 409);
    }
    return json({detail: 'Not Found'}, 404);
  };
}

export {fixtures};
