// Read at run time, never built in: deployment overwrites this file with the deployed settings (the API's base
// URL when it is not on the site's own origin; the operator desk's sign-in settings). Locally `lapor dev` serves
// the API on the same origin, so the base is empty.
export const config = {
  apiBase: "",
};
