package slip_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/tuyensinh/tuyensinh/enrollment/slip"
)

// TestWriteSample writes the sample slip to $SLIP_SAMPLE when set, to look
// at it (pdftoppm -png) by eye.
func TestWriteSample(t *testing.T) {
	out := os.Getenv("SLIP_SAMPLE")
	if out == "" {
		t.Skip("SLIP_SAMPLE not set")
	}
	s := sample()
	s.Admission = &slip.Admission{SchoolName: "Trường Tiểu học Kim Đồng", SchoolAddress: "5 Phan Đình Phùng", ConfirmedAt: s.Printed, Bring: slip.DefaultBring}
	var buf bytes.Buffer
	if err := slip.Write(&buf, s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
