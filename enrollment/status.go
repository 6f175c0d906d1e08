package enrollment

import (
	"strings"
	"time"
)

// Status is where an application stands.
type Status string

// Application states. An application is queued from the moment intake
// accepts it until it is stored in PostgreSQL; received once stored; later
// states come from school review, placement and the parent's confirmation.
const (
	StatusQueued    Status = "queued"
	StatusReceived  Status = "received"
	StatusDuplicate Status = "duplicate"  // a second registration of a child; it shows nothing of the first
	StatusNotStored Status = "not_stored" // accepted but never stored (dropped from the dead letters by an operator); the child may register again
	StatusReturned  Status = "returned"   // returned by the school with a reason to fix
	StatusAccepted  Status = "accepted"   // accepted by the school after review
	StatusPlaced    Status = "placed"     // given a seat by a published placement run; the parent confirms or declines it
	StatusUnplaced  Status = "unplaced"   // in a published run but given no seat; a later round may place it
	StatusConfirmed Status = "confirmed"  // the parent (or the school, in person) confirmed the seat
	StatusDeclined  Status = "declined"   // the seat was declined, or not confirmed by the deadline; it is offered in the next round
	StatusVoided    Status = "voided"     // ended by the school or authority after checking papers; the child may register again
)

// StatusPendingVerification is received, except that the population
// register could not be asked when the application was submitted to a
// window that verifies registrations: the school checks the child's papers,
// or the register is asked again later. It is never a refusal.
const StatusPendingVerification Status = "pending_verification"

var statusText = map[Status][2]string{
	StatusQueued:    {"Đã tiếp nhận, đang chờ lưu vào hệ thống", "accepted, waiting to be stored"},
	StatusReceived:  {"Hồ sơ đã được lưu, chờ nhà trường xét duyệt", "stored, waiting for the school's review"},
	StatusNotStored: {"Hồ sơ không lưu được vào hệ thống và không được tính; vui lòng đăng ký lại cho trẻ, hoặc liên hệ nhà trường", "the application could not be stored and does not count; please register the child again, or contact the school"},
	StatusDuplicate: {"Trẻ đã có hồ sơ đăng ký trước đó; hồ sơ này không được tính. Mã tra cứu của hồ sơ đó được gửi lại đến số điện thoại phụ huynh đã khai lần đầu; nếu cần, hãy mang giấy tờ của trẻ đến trường", "the child already had an application; this one does not count. Its tracking code is sent again to the guardian phone given the first time; if need be, take the child's papers to the school"},
	StatusReturned:  {"Nhà trường trả lại hồ sơ để bổ sung; xem lý do, sửa và gửi lại hồ sơ trong thời gian đăng ký", "returned by the school to be completed; read the reason, correct the application and send it again while registration is open"},
	StatusAccepted:  {"Nhà trường đã duyệt hồ sơ", "accepted by the school"},
	StatusVoided:    {"Hồ sơ đã bị hủy sau khi nhà trường hoặc cơ quan quản lý kiểm tra giấy tờ; hồ sơ này không được tính. Liên hệ nhà trường nếu cần; trẻ có thể được đăng ký lại", "voided after the school or the authority checked the papers; this application does not count. Contact the school if need be; the child may be registered again"},
	StatusPlaced:    {"Đã có kết quả phân tuyến", "placed"},
	StatusConfirmed: {"Đã xác nhận nhập học", "enrollment confirmed"},
	StatusDeclined:  {"Đã từ chối nhập học", "enrollment declined"},
	StatusUnplaced:  {"Chưa được xếp chỗ trong vòng này; trẻ sẽ được xét ở vòng tiếp theo", "not given a seat in this round; the child is considered in the next round"},

	StatusPendingVerification: {"Hồ sơ đã được lưu; chưa đối chiếu được với Cơ sở dữ liệu quốc gia về dân cư, nhà trường sẽ kiểm tra khi xét duyệt",
		"stored; not yet checked against the national population database: the school checks it during the review"},
}

// StatusView is what GET /api/v1/applications/{code} shows the holder of a
// tracking code. It carries nothing the holder did not submit, and the
// child's name only abbreviated. While an application is queued (for
// moments, until a worker stores it) it shows only the code, the state
// and the submission time.
type StatusView struct {
	TrackingCode string     `json:"tracking_code"`
	Status       Status     `json:"status"`
	StatusText   string     `json:"status_text"`
	StatusTextEN string     `json:"status_text_en"`
	Level        Level      `json:"level,omitempty"`
	SchoolYear   int        `json:"school_year,omitempty"`
	Child        string     `json:"child,omitempty"`
	Choices      []string   `json:"choices,omitempty"`
	SubmittedAt  time.Time  `json:"submitted_at"`
	ReceivedAt   *time.Time `json:"received_at,omitempty"`
	// ReturnReason is why the school returned the application, written
	// for the parent; set only while it is returned.
	ReturnReason      string `json:"return_reason,omitempty"`
	FirstTrackingCode string `json:"-"` // a duplicate's first code: never shown, see postgres.DB.Status
}

// NewStatusView returns the view of an application in a state. An
// application received while awaiting verification against the population
// register shows StatusPendingVerification, as the store records it.
func NewStatusView(a *Application, st Status, receivedAt time.Time) StatusView {
	if st == StatusReceived {
		st = a.StoredStatus()
	}
	v := StatusView{
		TrackingCode: a.TrackingCode,
		Level:        a.Level,
		SchoolYear:   a.SchoolYear,
		Child:        MaskName(a.Child.FullName),
		Choices:      a.Choices,
		SubmittedAt:  a.SubmittedAt.UTC(),
	}
	if !receivedAt.IsZero() {
		t := receivedAt.UTC()
		v.ReceivedAt = &t
	}
	v.SetStatus(st)
	return v
}

// Known reports whether st is one of the states an application may be in.
func (st Status) Known() bool { _, ok := statusText[st]; return ok }

// Text returns the status's description in Vietnamese and English.
func (st Status) Text() (vi, en string) { t := statusText[st]; return t[0], t[1] }

// SetStatus sets the status and its texts.
func (v *StatusView) SetStatus(st Status) {
	v.Status = st
	t := statusText[st]
	v.StatusText, v.StatusTextEN = t[0], t[1]
}

// MaskName abbreviates a full name to initials and the given name:
// "Nguyễn Văn An" → "N. V. An".
func MaskName(full string) string {
	parts := strings.Fields(full)
	if len(parts) <= 1 {
		return full
	}
	var b strings.Builder
	for _, p := range parts[:len(parts)-1] {
		r := []rune(p)
		b.WriteRune(r[0])
		b.WriteString(". ")
	}
	b.WriteString(parts[len(parts)-1])
	return b.String()
}
