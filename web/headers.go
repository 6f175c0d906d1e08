package web

import (
	"github.com/labstack/echo/v4"
)

// contentSecurityPolicy lets pages load scripts, styles, images and API
// answers from this origin only, with no inline script or style (the pages
// have none: a script injected into a name or an address cannot run), and
// never inside another site's frame.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// securityHeaders sets on every answer, pages, API and errors alike:
//   - the Content-Security-Policy above;
//   - X-Content-Type-Options: nosniff, so a JSON answer echoing what a
//     client sent is never run as a script or shown as HTML;
//   - X-Frame-Options: DENY, frame-ancestors for older browsers;
//   - Referrer-Policy: no-referrer. The status page carries the tracking
//     code in its address (tra-cuu.html?code=…); with no referrer it goes
//     nowhere else, not even into the Referer of the page's own requests
//     in our access logs, and nothing here needs referrers.
//
// The values are shared by every answer, as one-element slices set in the
// header map by their canonical names: no answer allocates them, and a
// handler that sets or adds a value gets a slice of its own (Set replaces
// the slice, Add appends past its capacity).
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["Content-Security-Policy"] = cspValue
		h["X-Content-Type-Options"] = nosniffValue
		h["X-Frame-Options"] = denyValue
		h["Referrer-Policy"] = noReferrerValue
		return next(c)
	}
}

var (
	cspValue        = []string{contentSecurityPolicy}
	nosniffValue    = []string{"nosniff"}
	denyValue       = []string{"DENY"}
	noReferrerValue = []string{"no-referrer"}
	noStoreValue    = []string{"no-store"}
	jsonValue       = []string{echo.MIMEApplicationJSON}
)

// noStore marks answers no cache may keep: those that carry a tracking
// code (a registration's receipt, a status lookup) or may, errors
// included, since the code is all it takes to follow an application.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header()[echo.HeaderCacheControl] = noStoreValue
		return next(c)
	}
}
