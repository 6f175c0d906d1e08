package web

import (
	"embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed openapi.yaml
var openapiYAML []byte

//go:embed static
var static embed.FS

func (s *server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", openapiYAML)
}

// pages serves the pages people use, from embedded files.
func (s *server) pages(e *echo.Echo) {
	e.StaticFS("/", echo.MustSubFS(static, "static"))
}
