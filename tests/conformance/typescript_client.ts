// Compiled against the types openapi-typescript generated from authd's /openapi.json (see
// generated_typescript.mjs): a field or path that the document does not have fails tsc.
import createClient from "openapi-fetch";
import type { paths } from "./authd.js";

declare const process: { argv: string[] };

const [base, email, password, clientId, clientSecret] = process.argv.slice(2);
const api = createClient<paths>({ baseUrl: base });
function check(ok: unknown, what: string): asserts ok {
  if (!ok) throw new Error(`failed: ${what}`);
}

const registered = await api.POST("/api/auth/register", {
  body: { email: `ts.${email}`, password },
});
check(registered.response.status === 201, "register answers 201");
check(registered.data && "message" in registered.data, "a pending registration");

const login = await api.POST("/api/auth/login", { body: { email, password } });
check(login.data, `login: ${JSON.stringify(login.error)}`);
const tokens = login.data;
check(tokens.user.email === email && tokens.user.role === "CUSTOMER", "the user in the token response");

const me = await api.GET("/api/users/me", {
  headers: { Authorization: `Bearer ${tokens.access_token}` },
});
check(me.data?.email === email, "me");

const refreshed = await api.POST("/api/auth/refresh", {
  body: { refresh_token: tokens.refresh_token },
});
check(refreshed.data && refreshed.data.refresh_token !== tokens.refresh_token, "refresh rotates");

const wrong = await api.POST("/api/auth/login", { body: { email, password: `wrong-${password}` } });
check(wrong.response.status === 401 && wrong.error?.message, "a wrong password, typed error");

const token = await api.POST("/oauth/token", {
  body: { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret },
  bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
});
check(token.data?.token_type === "Bearer" && token.data.access_token, "client_credentials");

console.log("all checks passed");
