// Read at run time, never built in: deployment overwrites this file with the deployed settings (the API's base
// URL when it is not on the site's own origin; the operator desk's sign-in settings). Locally `lapor dev` serves
// the API on the same origin, so the base is empty.
export const config = {
  apiBase: "",
  // Where the attachments' presigned URLs point when it is not the site's origin: on AWS, S3's own origin (the
  // stack's MediaOrigin output, "https://lapor-media-<id>.s3.<region>.amazonaws.com"). The pages'
  // Content-Security-Policy allows it for uploads (connect-src) and thumbnails (img-src): lapor dev reads it from
  // here, a deployment puts the same policy in its headers. Empty locally: lapor dev serves S3 under /s3.
  mediaOrigin: "",
  // The maps' tiles (loaded only when a page's map is opened): a URL template with {z}/{x}/{y} (and {s} for a
  // server's subdomains), the attribution the tile server's terms require (HTML: OpenStreetMap's policy requires
  // its credit on every map) and the deepest zoom it serves. The pages' Content-Security-Policy allows the URL's
  // origin for images: lapor dev reads it from here, a deployment's headers carry the template's MapTilesUrl.
  // An empty url: maps without tiles (markers on a blank background).
  mapTiles: {
    url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    maxZoom: 19,
  },
  // How the operator desk signs in: "local" (lapor dev's own issuer under /_dev, offered by lapor dev only) or
  // "cognito" (the Cognito Hosted UI: authorization code with PKCE; a public app client, no secret here).
  signIn: "local",
  cognito: {
    domain: "", // the Hosted UI's domain, e.g. "https://lapor.auth.ap-southeast-3.amazoncognito.com"
    clientId: "", // the public app client's id
    redirectUri: "", // a callback URL of the app client: "<site>/desk/signin.html"
    logoutUri: "", // a sign-out URL of the app client (default: the sign-in page)
  },
};
