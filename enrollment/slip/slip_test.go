package slip_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment/slip"
)

func sample() slip.Slip {
	return slip.Slip{
		TrackingCode: "7K3M9QTVX2HJ8RWPZ4DA",
		StatusURL:    "http://localhost:8080/ket-qua.html?code=7K3M9QTVX2HJ8RWPZ4DA",
		Level:        "Lớp 1", SchoolYear: 2026,
		Child: slip.Child{FullName: "Nguyễn Thị Ngọc Ánh", DateOfBirth: "2020-03-14", Sex: "Nữ",
			IDNumber: "001320001234", Ethnicity: "Kinh"},
		Permanent: "12 Quán Thánh, TDP 3, Phường Ba Đình",
		Current:   "12 Quán Thánh, TDP 3, Phường Ba Đình",
		Guardian:  slip.Guardian{FullName: "Trần Thị Hoa", Relation: "Mẹ", Phone: "0912345678"},
		Choices: []slip.Choice{{Code: "TH-BADINH-01", Name: "Trường Tiểu học Ba Đình"},
			{Code: "TH-KIMDONG", Name: "Trường Tiểu học Kim Đồng"}},
		SubmittedAt: time.Date(2026, 7, 1, 1, 2, 0, 0, time.UTC),
		Status:      "Đã có kết quả phân tuyến",
		Printed:     time.Date(2026, 7, 20, 3, 0, 0, 0, time.UTC),
	}
}

// pdftotext extracts the text of a PDF with poppler's pdftotext, skipping
// the test where it is not installed (scripts/services.sh installs it
// with TUYENSINH_BROWSER=1).
func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("TUYENSINH_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("pdftotext is not installed (apt-get install poppler-utils)")
		}
		t.Skip("pdftotext is not installed")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "slip.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", "-layout", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestSlipPrintsVietnamese(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := slip.Write(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, buf.Bytes())
	for _, want := range []string{"PHIẾU ĐĂNG KÝ TUYỂN SINH", "Nguyễn Thị Ngọc Ánh", "7K3M9-QTVX2-HJ8RW-PZ4DA",
		"Trường Tiểu học Kim Đồng", "Nguyện vọng 2", "14/03/2020", "ngày 20 tháng 07 năm 2026"} {
		if !strings.Contains(text, want) {
			t.Errorf("slip text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Giấy báo nhập học") {
		t.Error("a registration slip calls itself an admission notice")
	}
	if n := strings.Count(text, "\f"); n > 1 {
		t.Errorf("slip has %d pages, want 1", n)
	}
}

func TestAdmissionNotice(t *testing.T) {
	t.Parallel()
	s := sample()
	s.Admission = &slip.Admission{SchoolName: "Trường Tiểu học Kim Đồng", SchoolAddress: "5 Phan Đình Phùng, Ba Đình",
		ConfirmedAt: time.Date(2026, 7, 18, 2, 0, 0, 0, time.UTC), Bring: slip.DefaultBring}
	var buf bytes.Buffer
	if err := slip.Write(&buf, s); err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, buf.Bytes())
	for _, want := range []string{"GIẤY BÁO NHẬP HỌC", "5 Phan Đình Phùng, Ba Đình", "Bản sao giấy khai sinh của trẻ", "Nguyễn Thị Ngọc Ánh"} {
		if !strings.Contains(text, want) {
			t.Errorf("notice text lacks %q:\n%s", want, text)
		}
	}
}

// BenchmarkWrite measures one slip: font subsetting, the QR code and the
// PDF (go test -bench Write -benchtime 20x ./enrollment/slip).
func BenchmarkWrite(b *testing.B) {
	s := sample()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := slip.Write(&buf, s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/pdf")
}
