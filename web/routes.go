package web

import "github.com/labstack/echo/v4"

// routes lists every route of the service.
func (s *server) routes(e *echo.Echo) {
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.yaml", s.openapi)

	api := e.Group("/api/v1")
	api.GET("/windows", s.listWindows)
	api.GET("/schools", s.listSchools)
	api.GET("/wards", s.listWards)
	api.POST("/applications", s.submitApplication, noStore, s.limit(RateLimit{RegisterLimit, s.RegisterPerMinute}))
	api.GET("/applications/:code", s.applicationStatus, noStore, s.limit(RateLimit{StatusLimit, s.StatusPerMinute}))
	api.GET("/intake", s.intakeState)

	// Staff sessions. Signing in needs no session and no CSRF token yet.
	api.POST("/session", s.login, noStore, s.limit(RateLimit{LoginLimit, s.LoginPerMinute}), s.session)
	api.GET("/session", s.currentSession, s.staffRoute()...)
	api.DELETE("/session", s.logout, s.staffRoute()...)

	// Review and direct registration. A parent corrects a returned
	// application as the holder of its tracking code.
	api.PUT("/applications/:code", s.correctApplication, noStore, s.limit(RateLimit{RegisterLimit, s.RegisterPerMinute}))
	api.GET("/applications/:code/review", s.reviewFile, s.staffRoute()...)
	api.POST("/applications/:code/review", s.decide, s.staffRoute()...)
	api.GET("/schools/:code/applications", s.listApplicants, s.staffRoute()...)
	api.POST("/schools/:code/applications", s.registerDirect, s.staffRoute()...)
	api.GET("/schools/:code/applications.csv", s.exportCSV, s.staffRoute()...)
	api.GET("/schools/:code/applications.xlsx", s.exportXLSX, s.staffRoute()...)
	s.placementRoutes(api)

	s.referenceRoutes(e, api) // quotas, catchments, windows, policies, the live dashboard (issue 9)

	s.pages(e)
}
