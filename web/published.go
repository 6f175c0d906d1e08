package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// Public results (issue 10): every published run, its seed and the
// commitment made before the window closed, a per-school table, and the
// engine's own files for anyone to re-run. Nothing here names a child:
// the files carry pseudonyms only, and the table counts.

// publishedSchool is one school's line of a published run.
type publishedSchool struct {
	School           string          `json:"school"`
	SchoolName       string          `json:"school_name"`
	Quota            int             `json:"quota"`
	Admitted         int             `json:"admitted"`
	AdmittedByChoice int             `json:"admitted_by_choice"`
	Administrative   int             `json:"administrative"`
	Cutoff           json.RawMessage `json:"cutoff"`
}

type publishedRun struct {
	postgres.PublishedRun
	Schools     []publishedSchool `json:"schools"`
	InstanceURL string            `json:"instance_url"`
	ResultURL   string            `json:"result_url"`
}

// published answers GET /api/v1/placement/published?level=&school_year=.
func (p *parents) published(c echo.Context) error {
	level := c.QueryParam("level")
	if level != "" && !enrollment.Level(level).Valid() {
		return badQuery("level", "Tham số level phải là một trong: mg3, mg4, mg5, lop1, lop6", "query parameter level must be one of mg3, mg4, mg5, lop1, lop6")
	}
	year := 0
	if v := c.QueryParam("school_year"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2000 || n > 2100 {
			return badQuery("school_year", "Tham số school_year phải là năm bắt đầu năm học, ví dụ 2026", "query parameter school_year must be the year the school year starts, e.g. 2026")
		}
		year = n
	}
	if p.DB == nil {
		return parentsUnavailable()
	}
	ctx := c.Request().Context()
	runs, err := p.DB.PublishedRuns(ctx, level, year)
	if err != nil {
		p.Logger.Warn("published runs not loaded", "err", err)
		return parentsUnavailable()
	}
	out := make([]publishedRun, 0, len(runs))
	for _, r := range runs {
		schools, err := p.summary(c, r.ID)
		if err != nil {
			return err
		}
		base := fmt.Sprintf("/api/v1/placement/published/%d/", r.ID)
		out = append(out, publishedRun{PublishedRun: r, Schools: schools, InstanceURL: base + "instance.json", ResultURL: base + "result.json"})
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=60")
	return c.JSON(http.StatusOK, map[string]any{"runs": out})
}

// summary returns the per-school table of a published run, read once from
// its result file.
func (p *parents) summary(c echo.Context, id int64) ([]publishedSchool, error) {
	if v, ok := p.summaries.Load(id); ok {
		return v.([]publishedSchool), nil
	}
	ctx := c.Request().Context()
	b, err := p.DB.PublishedFile(ctx, id, postgres.FileResult)
	if err != nil {
		p.Logger.Warn("published result not loaded", "run", id, "err", err)
		return nil, parentsUnavailable()
	}
	var res struct {
		Schools []struct {
			ID               string          `json:"id"`
			Quota            int             `json:"quota"`
			Admitted         int             `json:"admitted"`
			AdmittedByChoice int             `json:"admitted_by_choice"`
			Administrative   int             `json:"administrative"`
			Cutoff           json.RawMessage `json:"cutoff"`
		} `json:"schools"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		p.Logger.Error("published result unreadable", "run", id, "err", err)
		return nil, enrollment.Errorf(enrollment.CodeInternal, "Lỗi hệ thống; vui lòng thử lại sau", "internal error; please try again later")
	}
	codes := make([]string, len(res.Schools))
	for i, s := range res.Schools {
		codes[i] = s.ID
	}
	names, err := p.DB.SchoolNames(ctx, codes)
	if err != nil {
		p.Logger.Warn("school names not loaded", "err", err)
		return nil, parentsUnavailable()
	}
	out := make([]publishedSchool, len(res.Schools))
	for i, s := range res.Schools {
		cut := s.Cutoff
		if len(cut) == 0 {
			cut = json.RawMessage("null")
		}
		out[i] = publishedSchool{School: s.ID, SchoolName: names[s.ID], Quota: s.Quota, Admitted: s.Admitted,
			AdmittedByChoice: s.AdmittedByChoice, Administrative: s.Administrative, Cutoff: cut}
	}
	p.summaries.Store(id, out)
	return out, nil
}

// publishedFile answers GET /api/v1/placement/published/{id}/instance.json
// and …/result.json: the stored bytes, exactly.
func (p *parents) publishedFile(file string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil || id < 1 {
			return enrollment.ErrNotFound
		}
		if p.DB == nil {
			return parentsUnavailable()
		}
		b, err := p.DB.PublishedFile(c.Request().Context(), id, file)
		if err != nil {
			return p.publicStoreError(err)
		}
		h := c.Response().Header()
		h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="run-%d-%s.json"`, id, file))
		// A published run never changes.
		h.Set(echo.HeaderCacheControl, "public, max-age=86400, immutable")
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
	}
}
