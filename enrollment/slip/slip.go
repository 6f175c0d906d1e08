// Package slip prints, as a one-page A4 PDF in Vietnamese, the
// registration slip (phiếu đăng ký) of an application and, once its seat
// is confirmed, the admission notice (giấy báo nhập học) a school asks a
// parent to bring: what was submitted, the choices, the tracking code as
// text and as a QR code linking to the status page, and the date.
//
// The DejaVu Sans fonts (fonts/, with their licence) are embedded in the
// binary and in every PDF, so Vietnamese diacritics print the same on any
// printer, at a school gate or at home.
package slip

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"rsc.io/qr"
)

var (
	//go:embed fonts/DejaVuSans.ttf
	sansRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	sansBold []byte
)

// Slip is what one printed page says.
type Slip struct {
	TrackingCode string
	// StatusURL is the address of the application's status page, encoded
	// in the QR code (absolute, so a phone's camera opens it).
	StatusURL string
	// Level is the level's name ("Lớp 1"); SchoolYear the year it starts.
	Level      string
	SchoolYear int
	Child      Child
	// Permanent and Current are the residences as written ("12 Quán
	// Thánh, TDP 3, Phường Ba Đình").
	Permanent, Current string
	Guardian           Guardian
	PriorityGroup      int
	Choices            []Choice
	SubmittedAt        time.Time
	// Status is the application's state in words.
	Status string
	// Printed is the date the slip was printed.
	Printed time.Time
	// Admission, when set, makes the page the admission notice.
	Admission *Admission
}

// Child is the child as submitted.
type Child struct {
	FullName    string
	DateOfBirth string // as YYYY-MM-DD
	Sex         string // in words
	IDNumber    string
	Ethnicity   string
}

// Guardian is the parent or guardian as submitted.
type Guardian struct {
	FullName, Relation, Phone string
}

// Choice is a school the parent ranked.
type Choice struct {
	Code, Name string
}

// Admission is what an admission notice adds: the school the seat is at,
// its address, when the seat was confirmed, and what to bring.
type Admission struct {
	SchoolName    string
	SchoolAddress string
	ConfirmedAt   time.Time
	Bring         []string
}

// DefaultBring is what a school asks a parent to bring on the first day of
// admission formalities, unless the school says otherwise.
var DefaultBring = []string{
	"Giấy báo nhập học này (bản in hoặc trên điện thoại)",
	"Bản sao giấy khai sinh của trẻ",
	"Giấy tờ chứng minh thông tin cư trú nếu nhà trường yêu cầu (thông tin trên VNeID)",
	"Giấy tờ chứng nhận đối tượng ưu tiên (nếu có)",
}

// vietnam is the time zone dates are printed in.
var vietnam = time.FixedZone("ICT", 7*60*60)

const family = "DejaVu"

// Write renders s as a one-page A4 PDF to w.
func Write(w io.Writer, s Slip) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(title(s), true)
	pdf.SetAuthor("Hệ thống tuyển sinh đầu cấp trực tuyến", true)
	pdf.SetCreator("tuyensinh", true)
	pdf.AddUTF8FontFromBytes(family, "", sansRegular)
	pdf.AddUTF8FontFromBytes(family, "B", sansBold)
	pdf.SetMargins(18, 15, 18)
	pdf.SetAutoPageBreak(false, 10)
	pdf.AddPage()

	// Header: the state's motto, as official papers carry it.
	pdf.SetFont(family, "B", 10)
	pdf.CellFormat(0, 5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "", 1, "C", false, 0, "")
	pdf.SetFont(family, "", 10)
	pdf.CellFormat(0, 5, "Độc lập – Tự do – Hạnh phúc", "", 1, "C", false, 0, "")
	pdf.Ln(4)

	pdf.SetFont(family, "B", 16)
	pdf.CellFormat(0, 8, strings.ToUpper(title(s)), "", 1, "C", false, 0, "")
	pdf.SetFont(family, "", 11)
	pdf.CellFormat(0, 6, fmt.Sprintf("Tuyển sinh %s · Năm học %d–%d", s.Level, s.SchoolYear, s.SchoolYear+1), "", 1, "C", false, 0, "")
	pdf.Ln(3)

	// The tracking code, in text and as a QR code at the right.
	top := pdf.GetY()
	qrSize := 34.0
	if err := drawQR(pdf, s.StatusURL, 210-18-qrSize, top, qrSize); err != nil {
		return err
	}
	pdf.SetFont(family, "", 10)
	pdf.CellFormat(0, 5, "Mã tra cứu hồ sơ:", "", 1, "L", false, 0, "")
	pdf.SetFont(family, "B", 15)
	pdf.CellFormat(0, 8, GroupCode(s.TrackingCode), "", 1, "L", false, 0, "")
	pdf.SetFont(family, "", 9)
	pdf.MultiCell(210-36-qrSize-4, 4.5, "Quét mã QR hoặc mở địa chỉ dưới đây để xem trạng thái hồ sơ:\n"+s.StatusURL, "", "L", false)
	pdf.SetFont(family, "", 10)
	pdf.CellFormat(0, 5, "Trạng thái: "+s.Status, "", 1, "L", false, 0, "")
	pdf.SetY(max(pdf.GetY(), top+qrSize) + 3)

	if a := s.Admission; a != nil {
		section(pdf, "Kết quả tuyển sinh")
		pdf.SetFont(family, "", 11)
		pdf.MultiCell(0, 6, fmt.Sprintf("Trẻ %s đã được xếp và phụ huynh đã xác nhận nhập học vào:", s.Child.FullName), "", "L", false)
		pdf.SetFont(family, "B", 13)
		pdf.MultiCell(0, 7, a.SchoolName, "", "L", false)
		pdf.SetFont(family, "", 10)
		if a.SchoolAddress != "" {
			row(pdf, "Địa chỉ trường", a.SchoolAddress)
		}
		row(pdf, "Xác nhận nhập học", a.ConfirmedAt.In(vietnam).Format("15:04 ngày 02/01/2006"))
		pdf.Ln(1)
		pdf.SetFont(family, "B", 10)
		pdf.CellFormat(0, 6, "Khi đến trường làm thủ tục nhập học, phụ huynh mang theo:", "", 1, "L", false, 0, "")
		pdf.SetFont(family, "", 10)
		for _, b := range a.Bring {
			pdf.MultiCell(0, 5, "•  "+b, "", "L", false)
		}
		pdf.Ln(2)
	}

	section(pdf, "Thông tin của trẻ")
	row(pdf, "Họ và tên", s.Child.FullName)
	row(pdf, "Ngày sinh", dateVI(s.Child.DateOfBirth))
	row(pdf, "Giới tính", s.Child.Sex)
	row(pdf, "Số định danh cá nhân", s.Child.IDNumber)
	if s.Child.Ethnicity != "" {
		row(pdf, "Dân tộc", s.Child.Ethnicity)
	}
	row(pdf, "Thường trú", s.Permanent)
	row(pdf, "Nơi ở hiện tại", s.Current)
	if s.PriorityGroup > 0 {
		row(pdf, "Đối tượng ưu tiên", fmt.Sprintf("Nhóm %d", s.PriorityGroup))
	}
	pdf.Ln(1)

	section(pdf, "Cha mẹ hoặc người giám hộ")
	row(pdf, "Họ và tên", s.Guardian.FullName)
	row(pdf, "Quan hệ với trẻ", s.Guardian.Relation)
	row(pdf, "Số điện thoại", s.Guardian.Phone)
	pdf.Ln(1)

	section(pdf, "Nguyện vọng")
	for i, c := range s.Choices {
		row(pdf, fmt.Sprintf("Nguyện vọng %d", i+1), c.Name+" ("+c.Code+")")
	}
	pdf.Ln(1)
	row(pdf, "Nộp hồ sơ lúc", s.SubmittedAt.In(vietnam).Format("15:04 ngày 02/01/2006"))

	// Footer: the date and the room for signatures.
	pdf.SetY(245)
	pdf.SetFont(family, "", 10)
	pdf.CellFormat(0, 5, "Hà Nội, "+longDate(s.Printed), "", 1, "R", false, 0, "")
	pdf.Ln(1)
	pdf.SetFont(family, "B", 10)
	pdf.CellFormat(87, 5, "Cha mẹ hoặc người giám hộ", "", 0, "C", false, 0, "")
	pdf.CellFormat(87, 5, "Nhà trường", "", 1, "C", false, 0, "")
	pdf.SetFont(family, "", 8)
	pdf.CellFormat(87, 4, "(ký, ghi rõ họ tên)", "", 0, "C", false, 0, "")
	pdf.CellFormat(87, 4, "(ký, đóng dấu)", "", 1, "C", false, 0, "")
	pdf.SetY(285)
	pdf.SetFont(family, "", 7)
	pdf.CellFormat(0, 4, "In từ hệ thống tuyển sinh đầu cấp trực tuyến. Thông tin là thông tin phụ huynh đã khai; kiểm tra lại bằng mã tra cứu.", "", 1, "C", false, 0, "")

	if pdf.PageCount() != 1 {
		return fmt.Errorf("slip: %d pages, want 1", pdf.PageCount())
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("slip: %w", err)
	}
	return nil
}

func title(s Slip) string {
	if s.Admission != nil {
		return "Giấy báo nhập học"
	}
	return "Phiếu đăng ký tuyển sinh"
}

func section(pdf *fpdf.Fpdf, name string) {
	pdf.SetFont(family, "B", 11)
	pdf.SetFillColor(235, 240, 245)
	pdf.CellFormat(0, 7, name, "", 1, "L", true, 0, "")
	pdf.Ln(1)
}

// row prints a label and its value, the value wrapping within its column.
func row(pdf *fpdf.Fpdf, label, value string) {
	if value == "" {
		value = "—"
	}
	pdf.SetFont(family, "", 10)
	y := pdf.GetY()
	pdf.SetTextColor(80, 80, 80)
	pdf.CellFormat(50, 5.5, label, "", 0, "L", false, 0, "")
	pdf.SetTextColor(0, 0, 0)
	pdf.SetXY(18+50, y)
	pdf.MultiCell(0, 5.5, value, "", "L", false)
}

// drawQR draws text's QR code as black squares, size mm wide, at (x, y).
func drawQR(pdf *fpdf.Fpdf, text string, x, y, size float64) error {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return fmt.Errorf("slip: QR code: %w", err)
	}
	// Four modules of quiet zone on every side, as scanners expect.
	n := float64(code.Size + 8)
	m := size / n
	pdf.SetFillColor(0, 0, 0)
	for r := 0; r < code.Size; r++ {
		for c := 0; c < code.Size; c++ {
			if code.Black(c, r) {
				pdf.Rect(x+(float64(c)+4)*m, y+(float64(r)+4)*m, m, m, "F")
			}
		}
	}
	return nil
}

// GroupCode writes a tracking code in groups of five, as the pages show it.
func GroupCode(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); i += 5 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(code[i:min(i+5, len(code))])
	}
	return b.String()
}

func dateVI(iso string) string {
	t, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return iso
	}
	return t.Format("02/01/2006")
}

func longDate(t time.Time) string {
	t = t.In(vietnam)
	return fmt.Sprintf("ngày %02d tháng %02d năm %d", t.Day(), int(t.Month()), t.Year())
}
