package web

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/slip"
)

// slipPDF answers GET /api/v1/applications/{code}/slip.pdf: the
// registration slip, or after the seat is confirmed the admission notice,
// for the parent's session of that application or for staff in scope.
func (p *parents) slipPDF(c echo.Context) error {
	code, ok := enrollment.NormalizeTrackingCode(c.Param("code"))
	if !ok {
		return enrollment.ErrNotFound
	}
	if p.DB == nil {
		return parentsUnavailable()
	}
	if hasStaffCookie(c) {
		return p.asStaff(c, func(c echo.Context) error {
			ctx := c.Request().Context()
			f, err := p.DB.File(ctx, code)
			if err != nil {
				return p.storeError(err, "application file not loaded")
			}
			var placed string
			if res, _, ok, err := p.DB.Result(ctx, code); err != nil {
				return p.storeError(err, "placement result not loaded")
			} else if ok && res.School != nil {
				placed = *res.School
			}
			first := ""
			if len(f.Choices) > 0 {
				first = f.Choices[0]
			}
			if err := p.mayActOnSeat(ctx, c, placed, first); err != nil {
				return err
			}
			return p.writeSlip(c, f)
		})
	}
	sessCode, _, ok := p.parentSession(c)
	if !ok || sessCode != code {
		return errParentSession
	}
	f, err := p.DB.File(c.Request().Context(), code)
	if err != nil {
		return p.publicStoreError(err)
	}
	return p.writeSlip(c, f)
}

var relationVI = map[string]string{"father": "Cha", "mother": "Mẹ", "grandparent": "Ông/bà",
	"sibling": "Anh/chị", "guardian": "Người giám hộ", "other": "Khác"}

// writeSlip renders the application's slip into a buffer, then sends it.
func (p *parents) writeSlip(c echo.Context, f enrollment.File) error {
	ctx := c.Request().Context()
	s, err := p.slipOf(ctx, c, f)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := slip.Write(&buf, s); err != nil {
		p.Logger.Error("slip not rendered", "err", err)
		return enrollment.Errorf(enrollment.CodeInternal, "Không in được phiếu; vui lòng thử lại sau", "the slip could not be printed; please try again later")
	}
	name := "phieu-dang-ky-" + f.TrackingCode + ".pdf"
	if s.Admission != nil {
		name = "giay-bao-nhap-hoc-" + f.TrackingCode + ".pdf"
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `inline; filename="`+name+`"`)
	return c.Blob(http.StatusOK, "application/pdf", buf.Bytes())
}

// slipOf gathers what the slip of an application prints.
func (p *parents) slipOf(ctx context.Context, c echo.Context, f enrollment.File) (slip.Slip, error) {
	res, pl, placed, err := p.DB.Result(ctx, f.TrackingCode)
	if err != nil {
		p.Logger.Warn("slip: result not loaded", "err", err)
		return slip.Slip{}, parentsUnavailable()
	}
	names, err := p.DB.SchoolNames(ctx, f.Choices)
	if err != nil {
		p.Logger.Warn("slip: school names not loaded", "err", err)
		return slip.Slip{}, parentsUnavailable()
	}
	cat := p.Catalog()
	vi, _ := f.Status.Text()
	s := slip.Slip{
		TrackingCode: f.TrackingCode,
		StatusURL:    c.Scheme() + "://" + c.Request().Host + statusPage(f.TrackingCode),
		Level:        f.Level.NameVI(),
		SchoolYear:   f.SchoolYear,
		Child: slip.Child{FullName: f.Child.FullName, DateOfBirth: f.Child.DateOfBirth, Sex: sexVI(f.Child.Sex),
			IDNumber: f.Child.IDNumber, Ethnicity: f.Child.Ethnicity},
		Permanent:     address(cat, f.Residence.Permanent),
		Current:       address(cat, f.Residence.Current),
		Guardian:      slip.Guardian{FullName: f.Guardian.FullName, Relation: relationVI[f.Guardian.Relation], Phone: f.Guardian.Phone},
		PriorityGroup: f.PriorityGroup,
		SubmittedAt:   f.SubmittedAt,
		Status:        vi,
		Printed:       p.NowFunc(),
	}
	for _, code := range f.Choices {
		s.Choices = append(s.Choices, slip.Choice{Code: code, Name: names[code]})
	}
	if f.Status == enrollment.StatusConfirmed && placed && res.School != nil {
		a := &slip.Admission{SchoolName: res.SchoolName, SchoolAddress: pl.SchoolAddress, Bring: slip.DefaultBring}
		for _, e := range f.History {
			if e.To == enrollment.StatusConfirmed {
				a.ConfirmedAt = e.At
			}
		}
		s.Admission = a
	}
	return s, nil
}

// address writes a residence as a parent would: street, group, ward.
func address(cat *enrollment.Catalog, a enrollment.Address) string {
	var parts []string
	for _, s := range []string{a.Address, a.Group} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	if cat != nil {
		if w, ok := cat.Ward(a.Ward); ok {
			parts = append(parts, w.Name)
		} else if a.Ward != "" {
			parts = append(parts, a.Ward)
		}
	}
	return strings.Join(parts, ", ")
}
