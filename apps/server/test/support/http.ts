/** Small HTTP helpers: every call returns status, headers and the parsed JSON body. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the tests' assertions, not by types
export type Json = any;

export interface HttpAnswer<Body = Json> {
  status: number;
  headers: Headers;
  body: Body;
  text: string;
}

export interface CallOptions {
  token?: string;
  headers?: Record<string, string>;
}

export async function request(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: Json;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** `POST /trpc/<procedure>` with `input` as the JSON body (SPEC §5: POST reaches every procedure). */
export function post(base: string, procedure: string, input: unknown, options: CallOptions = {}): Promise<HttpAnswer> {
  return request(`${base}/trpc/${procedure}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...options.headers,
    },
    body: input === undefined ? '' : JSON.stringify(input),
  });
}

/** `GET /trpc/<procedure>?input=<url-encoded JSON>`. */
export function get(base: string, procedure: string, input: unknown, options: CallOptions = {}): Promise<HttpAnswer> {
  const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  return request(`${base}/trpc/${procedure}${query}`, {
    headers: { ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }), ...options.headers },
  });
}
