// /docs: Swagger UI (vendored, web/vendor/swagger-ui-dist-*) of the API's own OpenAPI document. No request leaves
// the origin: the online validator's badge is off, and the document is read from /openapi.json beside the API.
/* global SwaggerUIBundle */
import("../config.js").then(({ config }) => {
  SwaggerUIBundle({
    url: `${config.apiBase}/openapi.json`,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    tryItOutEnabled: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
