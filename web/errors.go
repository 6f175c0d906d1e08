package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// statusOf maps each error code to its HTTP status: the one place where
// errors become statuses.
var statusOf = map[enrollment.Code]int{
	enrollment.CodeBadRequest:   http.StatusBadRequest,
	enrollment.CodeTooLarge:     http.StatusRequestEntityTooLarge,
	enrollment.CodeMethod:       http.StatusMethodNotAllowed,
	enrollment.CodeInvalid:      http.StatusUnprocessableEntity,
	enrollment.CodeWindowClosed: http.StatusForbidden,
	enrollment.CodeDuplicate:    http.StatusConflict,
	enrollment.CodeNotFound:     http.StatusNotFound,
	enrollment.CodeBusy:         http.StatusServiceUnavailable,
	enrollment.CodeTooMany:      http.StatusTooManyRequests,
	enrollment.CodeUnavailable:  http.StatusServiceUnavailable,
	enrollment.CodeInternal:     http.StatusInternalServerError,
	enrollment.CodeUnauthorized: http.StatusUnauthorized,
	enrollment.CodeForbidden:    http.StatusForbidden,
	enrollment.CodeConflict:     http.StatusConflict,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code         enrollment.Code      `json:"code"`
	Message      string               `json:"message"`
	MessageEN    string               `json:"message_en"`
	Problems     []enrollment.Problem `json:"problems,omitempty"`
	TrackingCode string               `json:"tracking_code,omitempty"`
	StatusURL    string               `json:"status_url,omitempty"`
}

// errorHandler writes every error as JSON in one shape, except for a
// browser outside the API, which gets a page in the site's layout (see
// writeErrorPage). Errors that are not
// *enrollment.Error or echo's own are faults of ours: logged once, and
// answered 500 without detail. An *enrollment.Error that carries its cause
// (a service down) is logged here, once, with the cause; the client gets
// only the messages.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		var e *enrollment.Error
		var he *echo.HTTPError
		switch {
		case errors.As(err, &e):
			if e.Err != nil {
				log.Warn("request refused", "method", c.Request().Method, "path", c.Path(), "code", e.Code, "err", err)
			}
		case errors.As(err, &he):
			e = echoError(he)
		default:
			log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
			e = enrollment.Errorf(enrollment.CodeInternal, "Lỗi hệ thống; vui lòng thử lại sau", "internal error; please try again later")
		}
		status, ok := statusOf[e.Code]
		if !ok {
			status = http.StatusInternalServerError
		}
		if e.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.5)))
		}
		body := errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, MessageEN: e.MessageEN,
			Problems: e.Problems, TrackingCode: e.TrackingCode}}
		if e.TrackingCode != "" {
			body.Error.StatusURL = statusURL(e.TrackingCode)
		}
		if wantsHTML(c.Request()) {
			// A page in the site's layout (no body on HEAD: net/http drops it).
			if err := writeErrorPage(c, status, e); err != nil {
				log.Error("error page not rendered", "path", c.Path(), "err", err)
				_ = c.JSON(status, body)
			}
			return
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, body)
	}
}

func echoError(he *echo.HTTPError) *enrollment.Error {
	switch he.Code {
	case http.StatusNotFound:
		return enrollment.Errorf(enrollment.CodeNotFound, "Không tìm thấy trang hoặc địa chỉ API này", "no such page or API route")
	case http.StatusMethodNotAllowed:
		return enrollment.Errorf(enrollment.CodeMethod, "Phương thức HTTP không được hỗ trợ ở địa chỉ này", "method not allowed on this route")
	case http.StatusRequestEntityTooLarge:
		return enrollment.TooLarge()
	case http.StatusUnsupportedMediaType:
		return enrollment.Errorf(enrollment.CodeBadRequest, "Cần gửi nội dung dạng JSON (Content-Type: application/json)", "send the body as JSON (Content-Type: application/json)")
	}
	if he.Code >= 400 && he.Code < 500 {
		return enrollment.Errorf(enrollment.CodeBadRequest, "Yêu cầu không hợp lệ", "bad request")
	}
	return enrollment.Errorf(enrollment.CodeInternal, "Lỗi hệ thống; vui lòng thử lại sau", "internal error; please try again later")
}

func statusURL(code string) string { return statusURLPrefix + code }

func statusPage(code string) string { return statusPagePrefix + code }

const (
	statusURLPrefix  = "/api/v1/applications/"
	statusPagePrefix = "/tra-cuu.html?code="
)
