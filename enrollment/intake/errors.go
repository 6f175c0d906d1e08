package intake

import (
	"fmt"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// The intake's refusals, built here once for the queue and the direct
// intake alike. Those caused by a service carry the cause in Err: the
// handler that answers the request logs it once.

// duplicate is the refusal of a second, different registration of a child.
// It tells nothing of the first application (not its code, not what it
// says), since anyone who knows a child's ID number can send a form; it says
// how the parent who made the first one gets its code back.
func duplicate(a *enrollment.Application) error {
	return &enrollment.Error{Code: enrollment.CodeDuplicate,
		Message: fmt.Sprintf("Trẻ này đã có hồ sơ đăng ký %s năm học %d-%d; mỗi trẻ chỉ có một hồ sơ, nên hồ sơ vừa gửi không được nhận. "+
			"Mã tra cứu của hồ sơ đã có sẽ được gửi lại bằng tin nhắn đến số điện thoại phụ huynh đã khai khi đăng ký lần đầu (nhiều nhất một lần mỗi ngày). "+
			"Nếu không nhận được tin nhắn, hoặc bạn chưa từng đăng ký cho trẻ, hãy mang giấy tờ của trẻ (giấy khai sinh, giấy tờ cư trú) đến trường để được hỗ trợ.",
			a.Level.NameVI(), a.SchoolYear, a.SchoolYear+1),
		MessageEN: fmt.Sprintf("this child already has an application for %s in %d-%d; a child has one application, so this one was not taken. "+
			"The tracking code of the existing application will be sent again by text message to the guardian phone given in the first registration (at most once a day). "+
			"If no message arrives, or you never registered the child, take the child's papers (birth certificate, residence papers) to the school for help.",
			a.Level, a.SchoolYear, a.SchoolYear+1)}
}

// notSaved is the answer while Redis cannot be reached at all: the
// registration certainly was not saved; the same answer when the direct
// intake's database cannot be reached. The cause is carried for the log,
// never shown.
func notSaved(retryAfter time.Duration, cause error) error {
	return &enrollment.Error{Code: enrollment.CodeUnavailable,
		Message:    fmt.Sprintf("Hệ thống tạm thời không nhận được hồ sơ; hồ sơ CHƯA được lưu. Vui lòng gửi lại sau %d giây.", int(retryAfter/time.Second)),
		MessageEN:  fmt.Sprintf("registrations cannot be taken right now; this one was NOT saved. Please submit again in %d seconds.", int(retryAfter/time.Second)),
		RetryAfter: retryAfter, Err: cause}
}

// unconfirmed is the answer when Redis did not confirm in time: the
// registration may or may not be in the stream, and only a resubmission
// tells (it answers with the same code if it was saved).
func unconfirmed(retryAfter time.Duration, cause error) error {
	return &enrollment.Error{Code: enrollment.CodeUnavailable,
		Message:    "Hệ thống chưa xác nhận được việc lưu hồ sơ; hồ sơ có thể chưa được lưu. Vui lòng gửi lại: nếu hồ sơ đã được lưu, bạn sẽ nhận lại đúng mã tra cứu.",
		MessageEN:  "the system could not confirm that the registration was saved; it may not have been. Please submit it again: if it was saved, you will get the same tracking code back.",
		RetryAfter: retryAfter, Err: cause}
}

// busy is the answer while the backlog is past its ceiling: nothing was
// queued.
func busy(retryAfter time.Duration) error {
	return &enrollment.Error{Code: enrollment.CodeBusy,
		Message:    fmt.Sprintf("Hệ thống đang nhận rất nhiều hồ sơ; hồ sơ CHƯA được lưu. Vui lòng gửi lại sau %d giây. Thời điểm nộp không ảnh hưởng đến kết quả tuyển sinh.", int(retryAfter/time.Second)),
		MessageEN:  fmt.Sprintf("the system is receiving very many registrations; this one was NOT saved. Please submit again in %d seconds. The time of submission does not affect placement.", int(retryAfter/time.Second)),
		RetryAfter: retryAfter}
}

// lookupUnavailable is the answer to a status lookup or state read while
// Redis does not answer.
func lookupUnavailable(retryAfter time.Duration, cause error) error {
	return &enrollment.Error{Code: enrollment.CodeUnavailable,
		Message:    fmt.Sprintf("Tạm thời không tra cứu được; vui lòng thử lại sau %d giây.", int(retryAfter/time.Second)),
		MessageEN:  fmt.Sprintf("lookups are unavailable right now; please try again in %d seconds.", int(retryAfter/time.Second)),
		RetryAfter: retryAfter, Err: cause}
}
