package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/xuri/excelize/v2"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Exports of a school's applicant list (issue 8): the list's filters and
// authorization, every matching applicant, no paging. Schools open them
// in Excel, so the texts are Vietnamese and the codes are spelled out.
//
// Dates. The CSV writes a date of birth as YYYY-MM-DD and the submission
// as YYYY-MM-DD HH:MM:SS on Vietnam's clock: ISO dates are read as dates
// by Excel whatever the computer's locale, where 05/03/2021 is 5 March on
// a Vietnamese Windows and 3 May on an English one. The workbook holds
// real dates (Excel serial numbers) shown as DD/MM/YYYY and
// DD/MM/YYYY HH:MM, the way Vietnamese offices write them.

// exportHeader is the header row of both exports, in column order.
var exportHeader = []string{
	"Mã hồ sơ", "Họ và tên trẻ", "Ngày sinh", "Giới tính", "Cấp học", "Năm học", "Diện cư trú",
	"Nhóm ưu tiên", "Nguyện vọng", "Thứ tự nguyện vọng", "Trạng thái", "Thời điểm nộp",
}

// exportWidths are the workbook's column widths, in characters.
var exportWidths = []float64{24, 30, 12, 10, 16, 11, 12, 13, 36, 19, 22, 18}

// sexVI is a sex as the school writes it.
func sexVI(s enrollment.Sex) string {
	switch s {
	case enrollment.Male:
		return "Nam"
	case enrollment.Female:
		return "Nữ"
	}
	return string(s)
}

// exportRow is one applicant's cells, those that are the same in both
// exports; the dates (columns 3 and 12) are each export's own.
func exportRow(a enrollment.Applicant) []string {
	status, _ := a.Status.Text()
	if status == "" {
		status = string(a.Status)
	}
	return []string{
		a.TrackingCode, a.ChildName, a.DateOfBirth, sexVI(a.Sex), a.Level.NameVI(),
		fmt.Sprintf("%d-%d", a.SchoolYear, a.SchoolYear+1), strings.ToUpper(string(a.ResidenceCategory)),
		strconv.Itoa(a.PriorityGroup), strings.Join(a.Choices, "; "), strconv.Itoa(a.ChoiceRank), status,
		a.SubmittedInVietnam().Format(time.DateTime),
	}
}

// exportQuery authorizes the caller for the school and reads the list's
// filters.
func (s *server) exportQuery(c echo.Context) (enrollment.ApplicantQuery, error) {
	code := c.Param("code")
	if err := s.authorizeSchool(c, code); err != nil {
		return enrollment.ApplicantQuery{}, err
	}
	q, err := applicantFilter(c, code)
	if err != nil {
		return q, err
	}
	// The server's write timeout is sized for JSON answers; a school's
	// whole list on a slow mobile link may take longer. A writer that
	// cannot move its deadline keeps the server's.
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(exportWriteTime))
	return q, nil
}

// exportWriteTime is how long a client has to download an export.
const exportWriteTime = 5 * time.Minute

// exportName is the download's file name: the school, the level when the
// list is narrowed to one, and the day of the export on Vietnam's clock,
// e.g. ung-tuyen-TH-BADINH-01-lop1-2026-12-01.xlsx. School codes and
// levels are ASCII letters, digits and dashes.
func (s *server) exportName(q enrollment.ApplicantQuery, ext string) string {
	name := "ung-tuyen-" + q.School
	if q.Level != "" {
		name += "-" + string(q.Level)
	}
	day := enrollment.Applicant{SubmittedAt: s.NowFunc()}.SubmittedInVietnam().Format(time.DateOnly)
	return name + "-" + day + "." + ext
}

func attachment(c echo.Context, contentType, name string) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, contentType)
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", name))
	h.Set(echo.HeaderCacheControl, "no-store")
}

// exportFlushEvery is how many CSV rows go to the client at a time.
const exportFlushEvery = 500

// utf8BOM tells Excel that the CSV is UTF-8; without it Excel reads the
// Vietnamese letters as Windows-1258 or Latin-1.
const utf8BOM = "\uFEFF"

// exportCSV answers GET /api/v1/schools/{code}/applications.csv, written
// row by row as PostgreSQL returns them.
func (s *server) exportCSV(c echo.Context) error {
	q, err := s.exportQuery(c)
	if err != nil {
		return err
	}
	res := c.Response()
	w := csv.NewWriter(res)
	// Nothing is sent before the first row: a database that fails at once
	// still gets the usual 503.
	rows := 0
	start := func() error {
		attachment(c, "text/csv; charset=utf-8", s.exportName(q, "csv"))
		res.WriteHeader(http.StatusOK)
		if _, err := res.Write([]byte(utf8BOM)); err != nil {
			return err
		}
		return w.Write(exportHeader)
	}
	err = s.DB.EachApplicant(c.Request().Context(), q, func(a enrollment.Applicant) error {
		if rows == 0 {
			if err := start(); err != nil {
				return err
			}
		}
		rows++
		if err := w.Write(exportRow(a)); err != nil {
			return err
		}
		if rows%exportFlushEvery == 0 {
			w.Flush()
			if err := w.Error(); err != nil {
				return err
			}
			res.Flush()
		}
		return nil
	})
	if err == nil && rows == 0 {
		err = start()
	}
	if err == nil {
		w.Flush()
		err = w.Error()
	}
	if err != nil {
		return s.exportFailed(c, q, "csv", err)
	}
	return nil
}

// exportFailed answers 503 when nothing has been sent yet. After the
// first rows the status is gone: the connection is cut, so that the
// client reports a failed download rather than keep a file that looks
// whole but lacks applicants.
func (s *server) exportFailed(c echo.Context, q enrollment.ApplicantQuery, kind string, err error) error {
	gone := c.Request().Context().Err() != nil
	if !gone {
		s.Logger.Warn("applicant export failed", "school", q.School, "format", kind, "err", err)
	}
	switch {
	case c.Response().Committed:
		panic(http.ErrAbortHandler)
	case gone:
		// The client went away: there is no one to answer.
		return nil
	}
	return staffUnavailable()
}

// xlsxType is the media type of an Excel workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// exportSheet is the name of the workbook's one sheet.
const exportSheet = "Hồ sơ"

// exportXLSX answers GET /api/v1/schools/{code}/applications.xlsx: one
// sheet, the header row bold and frozen, dates as Excel dates. Rows go
// from PostgreSQL straight into excelize's StreamWriter, which keeps the
// sheet's XML (on disk past 16 MB) rather than a cell object per value;
// a workbook is a zip written whole at the end.
func (s *server) exportXLSX(c echo.Context) error {
	q, err := s.exportQuery(c)
	if err != nil {
		return err
	}
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", exportSheet); err != nil {
		return s.exportFailed(c, q, "xlsx", err)
	}
	err = s.writeSheet(c, f, q)
	if err == nil {
		attachment(c, xlsxType, s.exportName(q, "xlsx"))
		c.Response().WriteHeader(http.StatusOK)
		err = f.Write(c.Response())
	}
	if err != nil {
		return s.exportFailed(c, q, "xlsx", err)
	}
	return nil
}

// writeSheet fills the workbook's sheet with the applicants of q.
func (s *server) writeSheet(c echo.Context, f *excelize.File, q enrollment.ApplicantQuery) error {
	sw, err := f.NewStreamWriter(exportSheet)
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}})
	if err != nil {
		return err
	}
	dateFmt, timeFmt := "dd/mm/yyyy", "dd/mm/yyyy hh:mm"
	date, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt})
	if err != nil {
		return err
	}
	stamp, err := f.NewStyle(&excelize.Style{CustomNumFmt: &timeFmt})
	if err != nil {
		return err
	}
	for i, w := range exportWidths {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	header := make([]any, len(exportHeader))
	for i, h := range exportHeader {
		header[i] = excelize.Cell{StyleID: bold, Value: h}
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{Height: 30}); err != nil {
		return err
	}
	row := 1
	cells := make([]any, len(exportHeader))
	err = s.DB.EachApplicant(c.Request().Context(), q, func(a enrollment.Applicant) error {
		row++
		for i, v := range exportRow(a) {
			cells[i] = v
		}
		// Excel has no time zones: a cell holds the wall clock it shows.
		if dob, err := time.Parse(time.DateOnly, a.DateOfBirth); err == nil {
			cells[2] = excelize.Cell{StyleID: date, Value: dob}
		}
		t := a.SubmittedInVietnam()
		cells[11] = excelize.Cell{StyleID: stamp, Value: time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)}
		cells[7] = a.PriorityGroup
		cells[9] = a.ChoiceRank
		return sw.SetRow("A"+strconv.Itoa(row), cells)
	})
	if err != nil {
		return err
	}
	return sw.Flush()
}
