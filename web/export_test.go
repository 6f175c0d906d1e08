package web_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/xuri/excelize/v2"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// wantHeader is the header row both exports must have.
var wantHeader = []string{"Mã hồ sơ", "Họ và tên trẻ", "Ngày sinh", "Giới tính", "Cấp học", "Năm học", "Diện cư trú",
	"Nhóm ưu tiên", "Nguyện vọng", "Thứ tự nguyện vọng", "Trạng thái", "Thời điểm nộp"}

type download struct {
	status int
	header http.Header
	body   []byte
}

func (s *reviewSite) download(t testing.TB, c *client, path string) download {
	t.Helper()
	res, err := c.http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return download{res.StatusCode, res.Header, body}
}

// storeChild saves an application of school A (first choice) with the
// given name and sex straight into the database.
func (s *reviewSite) storeChild(t testing.TB, name string, sex enrollment.Sex, choices ...string) string {
	t.Helper()
	f := s.form(choices...)
	dob, _ := time.Parse(time.DateOnly, f.Child.DateOfBirth)
	f.Child.FullName, f.Child.Sex = name, sex
	f.Child.IDNumber = enrollment.MakeIDNumber("001", dob, sex, int(s.n.Add(1)))
	a, err := s.cat.Check(f, time.Unix(0, s.now.Load()))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.store.RegisterDirect(t.Context(), a, enrollment.Actor{Name: "test", Role: enrollment.ActorSchool}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return res.TrackingCode
}

// listRows is what the CSV must hold for the list's answer: its rows
// through the export's spelling, every page.
func listRows(t *testing.T, s *reviewSite, c *client, filter string) [][]string {
	t.Helper()
	a := s.do(t, c, "GET", "/api/v1/schools/"+schoolA+"/applications?per_page=200&"+filter, nil)
	if a.status != 200 {
		t.Fatalf("list %s: %d %s", filter, a.status, a.raw)
	}
	var rows [][]string
	ict := time.FixedZone("ICT", 7*3600)
	for _, r := range a.body["applications"].([]any) {
		m := r.(map[string]any)
		sex := map[string]string{"male": "Nam", "female": "Nữ"}[m["sex"].(string)]
		status, _ := enrollment.Status(m["status"].(string)).Text()
		var choices []string
		for _, ch := range m["choices"].([]any) {
			choices = append(choices, ch.(string))
		}
		at, err := time.Parse(time.RFC3339Nano, m["submitted_at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		year := int(m["school_year"].(float64))
		rows = append(rows, []string{m["tracking_code"].(string), m["child_name"].(string), m["date_of_birth"].(string), sex,
			enrollment.Level(m["level"].(string)).NameVI(), fmt.Sprintf("%d-%d", year, year+1), strings.ToUpper(m["residence_category"].(string)),
			fmt.Sprint(m["priority_group"]), strings.Join(choices, "; "), fmt.Sprint(m["choice_rank"]), status, at.In(ict).Format(time.DateTime)})
	}
	return rows
}

// TestExportFiles opens the CSV with encoding/csv and the workbook with
// excelize: header, Vietnamese values, dates, the frozen header row, and
// the same applicants as the list for the same filters.
func TestExportFiles(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	clerk := s.signIn(t, "school-"+schoolA)
	tuyet := s.storeChild(t, "Lê Thị Ánh Tuyết", enrollment.Female, schoolA)
	s.storeChild(t, "Đặng Quốc Hưng", enrollment.Male, s.schoolB.SchoolCode, schoolA)
	s.storeChild(t, "Phạm Ngọc Ánh", enrollment.Female, schoolA)
	s.storeChild(t, "Trịnh Văn Khải", enrollment.Male, s.schoolB.SchoolCode) // not school A's
	if a := s.do(t, clerk, "POST", "/api/v1/applications/"+tuyet+"/review", map[string]string{"decision": "return", "reason": "Thiếu giấy khai sinh"}); a.status != 200 {
		t.Fatalf("return: %d %s", a.status, a.raw)
	}
	base := "/api/v1/schools/" + schoolA + "/applications"

	for _, filter := range []string{"", "level=lop1", "q=anh", "status=returned", "priority=0&category=dt1", "q=khai"} {
		d := s.download(t, clerk, base+".csv?"+filter)
		if d.status != 200 {
			t.Fatalf("csv %q: %d %s", filter, d.status, d.body)
		}
		if ct := d.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("csv Content-Type = %q", ct)
		}
		if cc := d.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("csv Cache-Control = %q, want no-store", cc)
		}
		if cd := d.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="ung-tuyen-`+schoolA) || !strings.HasSuffix(cd, `.csv"`) {
			t.Errorf("csv Content-Disposition = %q", cd)
		}
		body, ok := bytes.CutPrefix(d.body, []byte("\xEF\xBB\xBF"))
		if !ok {
			t.Fatalf("csv %q does not start with the UTF-8 BOM: %q", filter, d.body[:min(len(d.body), 8)])
		}
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatalf("csv %q: %v", filter, err)
		}
		if diff := cmp.Diff(wantHeader, rows[0]); diff != "" {
			t.Errorf("csv header (-want +got):\n%s", diff)
		}
		want := listRows(t, s, clerk, filter)
		if diff := cmp.Diff(want, rows[1:], cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("csv %q rows differ from the list (-list +csv):\n%s", filter, diff)
		}
		if filter == "" && len(rows) != 4 {
			t.Errorf("csv has %d rows, want the header and school A's 3", len(rows))
		}
	}
	d := s.download(t, clerk, base+".csv?q=tuyet")
	rows, _ := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(d.body, []byte("\xEF\xBB\xBF")))).ReadAll()
	returned, _ := enrollment.StatusReturned.Text()
	if len(rows) != 2 || rows[1][1] != "Lê Thị Ánh Tuyết" || rows[1][3] != "Nữ" || rows[1][10] != returned || returned == "" {
		t.Errorf("csv of the returned child: %q", rows)
	}
	if d := s.download(t, clerk, base+".csv?q=nobody"); d.status != 200 || string(d.body) != "\uFEFF"+strings.Join(wantHeader, ",")+"\n" {
		t.Errorf("csv with no match: %d %q, want the header alone", d.status, d.body)
	}

	// The workbook.
	x := s.download(t, clerk, base+".xlsx?level=lop1")
	if x.status != 200 {
		t.Fatalf("xlsx: %d %s", x.status, x.body)
	}
	if ct := x.header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("xlsx Content-Type = %q", ct)
	}
	if cc := x.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("xlsx Cache-Control = %q, want no-store", cc)
	}
	day := time.Now().In(time.FixedZone("ICT", 7*3600)).Format(time.DateOnly)
	if cd, want := x.header.Get("Content-Disposition"), `attachment; filename="ung-tuyen-TH-BADINH-01-lop1-`+day+`.xlsx"`; cd != want {
		t.Errorf("xlsx Content-Disposition = %q, want %q", cd, want)
	}
	f, err := excelize.OpenReader(bytes.NewReader(x.body))
	if err != nil {
		t.Fatalf("excelize cannot open the workbook: %v", err)
	}
	defer f.Close()
	sheet := f.GetSheetList()[0]
	xrows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantHeader, xrows[0]); diff != "" {
		t.Errorf("xlsx header (-want +got):\n%s", diff)
	}
	list := listRows(t, s, clerk, "level=lop1")
	if len(xrows) != len(list)+1 {
		t.Fatalf("xlsx has %d rows, want %d", len(xrows), len(list)+1)
	}
	at := slices.IndexFunc(list, func(r []string) bool { return r[0] == tuyet })
	if at < 0 {
		t.Fatal("the list lacks the returned child")
	}
	row := strconv.Itoa(at + 2)
	if name, _ := f.GetCellValue(sheet, "B"+row); name != "Lê Thị Ánh Tuyết" {
		t.Errorf("xlsx name = %q, want Lê Thị Ánh Tuyết", name)
	}
	if sex, _ := f.GetCellValue(sheet, "D"+row); sex != "Nữ" {
		t.Errorf("xlsx sex = %q, want Nữ", sex)
	}
	// The date of birth is a number (an Excel date) with a date format,
	// shown as DD/MM/YYYY.
	dob, _ := time.Parse(time.DateOnly, list[at][2])
	raw, _ := f.GetCellValue(sheet, "C"+row, excelize.Options{RawCellValue: true})
	if serial := int(dob.Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24); raw != strconv.Itoa(serial) {
		t.Errorf("xlsx date of birth holds %q, want the Excel date %d", raw, serial)
	}
	if typ, _ := f.GetCellType(sheet, "C"+row); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
		t.Errorf("xlsx date of birth is text (%v)", typ)
	}
	style, _ := f.GetCellStyle(sheet, "C"+row)
	if st, err := f.GetStyle(style); err != nil || st.CustomNumFmt == nil || *st.CustomNumFmt != "dd/mm/yyyy" {
		t.Errorf("xlsx date of birth style = %+v %v, want dd/mm/yyyy", st, err)
	}
	if shown, _ := f.GetCellValue(sheet, "C"+row); shown != dob.Format("02/01/2006") {
		t.Errorf("xlsx date of birth shows %q, want %q", shown, dob.Format("02/01/2006"))
	}
	if shown, _ := f.GetCellValue(sheet, "L"+row); shown != list[at][11][8:10]+"/"+list[at][11][5:7]+"/"+list[at][11][:4]+" "+list[at][11][11:16] {
		t.Errorf("xlsx submission shows %q, list says %q", shown, list[at][11])
	}
	if status, _ := f.GetCellValue(sheet, "K"+row); status != list[at][10] {
		t.Errorf("xlsx status = %q, want %q", status, list[at][10])
	}
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 1 || panes.XSplit != 0 || panes.TopLeftCell != "A2" {
		t.Errorf("xlsx panes = %+v %v, want the first row frozen", panes, err)
	}
	hs, _ := f.GetCellStyle(sheet, "A1")
	if st, _ := f.GetStyle(hs); st == nil || st.Font == nil || !st.Font.Bold {
		t.Errorf("xlsx header style = %+v, want bold", st)
	}
	if w, _ := f.GetColWidth(sheet, "B"); w < 20 {
		t.Errorf("xlsx name column width %v, want room for a name", w)
	}

	for _, q := range []string{"level=lop9", "status=nope", "priority=7", "q=" + url.QueryEscape(strings.Repeat("a", 101))} {
		for _, ext := range []string{".csv", ".xlsx"} {
			if d := s.download(t, clerk, base+ext+"?"+q); d.status != 400 {
				t.Errorf("%s?%s: %d, want 400", ext, q, d.status)
			}
		}
	}
}

// TestExportAuthorization: the exports' rows of the authorization
// matrix, on school A; refusals carry no applicant data.
func TestExportAuthorization(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	callers := []*client{
		s.anonymous(t),
		s.signIn(t, "school-"+schoolA),
		s.signIn(t, "school-"+s.schoolB.SchoolCode),
		s.signIn(t, "ward-00004"),
		s.signIn(t, "ward-"+s.schoolB.Ward),
		s.signIn(t, "admin"),
	}
	want := [6]int{401, 200, 403, 200, 403, 200}
	code, f := s.stored(t, schoolA)
	for _, ext := range []string{".csv", ".xlsx"} {
		for i, c := range callers {
			d := s.download(t, c, "/api/v1/schools/"+schoolA+"/applications"+ext)
			if d.status != want[i] {
				t.Errorf("%s by %s: %d %s, want %d", ext, c.name, d.status, d.body, want[i])
			}
			if d.status >= 400 {
				if ct := d.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("%s by %s: refusal of type %q", ext, c.name, ct)
				}
				if d.header.Get("Content-Disposition") != "" {
					t.Errorf("%s by %s: refusal is an attachment", ext, c.name)
				}
				for _, secret := range []string{f.Child.FullName, f.Child.IDNumber, code, "Mã hồ sơ"} {
					if strings.Contains(string(d.body), secret) {
						t.Errorf("%s by %s: refusal %s carries %q", ext, c.name, d.body, secret)
					}
				}
			}
			if d.status == 200 && ext == ".csv" && !strings.Contains(string(d.body), code) {
				t.Errorf("%s by %s: the export lacks the applicant", ext, c.name)
			}
		}
	}
}

// BenchmarkExport downloads both exports of a school with 5,000
// applicants through the whole service (session, authorization, query,
// encoding); B/file is the size of the download.
//
//	TUYENSINH_TEST_REQUIRE_SERVICES=1 go test -run '^$' -bench BenchmarkExport -benchtime 5x ./web/
func BenchmarkExport(b *testing.B) {
	s := newReviewSite(b)
	s.bulk(b, 5000)
	clerk := s.signIn(b, "school-"+schoolA)
	for _, ext := range []string{"csv", "xlsx"} {
		b.Run(ext, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				d := s.download(b, clerk, "/api/v1/schools/"+schoolA+"/applications."+ext)
				if d.status != 200 {
					b.Fatalf("%s: %d %s", ext, d.status, d.body)
				}
				size = len(d.body)
			}
			b.ReportMetric(float64(size), "B/file")
		})
	}
}

// bulk saves n applications of school A (B second) straight into the
// database, a second apart in submission order.
func (s *reviewSite) bulk(tb testing.TB, n int) {
	tb.Helper()
	ctx := tb.Context()
	now := time.Unix(0, s.now.Load())
	names := []string{"Nguyễn Thị An", "Trần Văn Bình", "Lê Thị Chi", "Phạm Quốc Dũng"}
	batch := make([]*enrollment.Application, 0, 1000)
	for i := range n {
		f := s.form(schoolA, s.schoolB.SchoolCode)
		f.Child.FullName = names[i%len(names)]
		a, err := s.cat.Check(f, now)
		if err != nil {
			tb.Fatal(err)
		}
		a.ID = fmt.Sprintf("00000000-0000-7000-8000-%012d", i)
		a.TrackingCode = enrollment.NewTrackingCode()
		a.SubmittedAt = now.Add(time.Duration(i) * time.Second)
		batch = append(batch, a)
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := s.store.SaveBatch(ctx, batch); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := s.db.Exec(`ANALYZE applications`); err != nil {
		tb.Fatal(err)
	}
}

// TestExportManyRows: past the rows sent at a time, the CSV still holds
// every applicant once, in the list's order, page after page.
func TestExportManyRows(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	s.bulk(t, 1234)
	clerk := s.signIn(t, "school-"+schoolA)
	d := s.download(t, clerk, "/api/v1/schools/"+schoolA+"/applications.csv")
	if d.status != 200 {
		t.Fatalf("csv: %d %s", d.status, d.body)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(d.body, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for page := 1; ; page++ {
		a := s.do(t, clerk, "GET", fmt.Sprintf("/api/v1/schools/%s/applications?per_page=200&page=%d", schoolA, page), nil)
		apps := a.body["applications"].([]any)
		if len(apps) == 0 {
			break
		}
		for _, r := range apps {
			want = append(want, r.(map[string]any)["tracking_code"].(string))
		}
	}
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[0])
	}
	if len(want) != 1234 {
		t.Fatalf("the list has %d applicants, want 1234", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("csv codes differ from the list's pages (-list +csv):\n%s", diff)
	}
}
