package enrollment

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Registration is what a parent states about a child: the level and year,
// the child, the residence, the guardian, the priority group and the
// ranked school choices.
type Registration struct {
	Level         Level     `json:"level"`
	SchoolYear    int       `json:"school_year"`
	Child         Child     `json:"child"`
	Residence     Residence `json:"residence"`
	Guardian      Guardian  `json:"guardian"`
	PriorityGroup int       `json:"priority_group"`
	Choices       []string  `json:"choices"`
	// Verification is set by intake, never taken from a form (Check leaves
	// it empty): VerificationPending when the window verifies registrations
	// and the population register could not answer. It travels with the
	// application through the intake stream to the store.
	Verification Verification `json:"verification,omitempty"`
}

// Form is a registration as a parent submits it (POST /api/v1/applications),
// with the consent to process the child's data.
type Form struct {
	Registration
	Consent bool `json:"consent"`
}

// Child is the child being registered.
type Child struct {
	IDNumber     string `json:"id_number"`
	FullName     string `json:"full_name"`
	DateOfBirth  string `json:"date_of_birth"` // YYYY-MM-DD
	Sex          Sex    `json:"sex"`
	Ethnicity    string `json:"ethnicity"`
	PlaceOfBirth string `json:"place_of_birth"`
	// OverAgeReason must be stated for a child born before the level's birth
	// year (at most MaxOverAge years before).
	OverAgeReason string `json:"over_age_reason,omitempty"`
}

// Residence is where the child is registered as living: the permanent
// residence (thường trú) and the current one (tạm trú or the same).
type Residence struct {
	Permanent Address `json:"permanent"`
	Current   Address `json:"current"`
}

// Address is a residence in the city: a ward code, a residential group of
// that ward (optional) and a street address.
type Address struct {
	Ward    string `json:"ward"`
	Group   string `json:"group"`
	Address string `json:"address"`
}

// Guardian is the parent or guardian who registers the child.
type Guardian struct {
	FullName string `json:"full_name"`
	Relation string `json:"relation"`
	IDNumber string `json:"id_number"`
	Phone    string `json:"phone"`
	Email    string `json:"email"`
}

// Relations are the accepted values of Guardian.Relation.
var Relations = []string{"father", "mother", "grandparent", "sibling", "guardian", "other"}

// Application is a checked registration as the intake stores it. Its ID and
// TrackingCode are assigned at intake; SubmittedAt is when intake took it and
// is never used for placement.
type Application struct {
	ID           string `json:"id"`
	TrackingCode string `json:"tracking_code"`
	// Registration is the checked and normalized registration; two
	// submissions for a child are the same when their registrations are.
	Registration
	SubmittedAt time.Time `json:"submitted_at"`
}

// StoredStatus is the status an application is stored with:
// StatusPendingVerification when the population register could not be
// asked, StatusReceived otherwise.
func (a *Application) StoredStatus() Status {
	if a.Verification == VerificationPending {
		return StatusPendingVerification
	}
	return StatusReceived
}

// Limits on free-text fields, in characters.
const (
	maxNameLen    = 100
	maxTextLen    = 200
	maxReasonLen  = 500
	maxIDFieldLen = 40
)

// Check checks a form against the catalog at time now and returns the
// normalized application (without ID and tracking code). It returns an
// *Error: CodeInvalid with every problem found, or CodeWindowClosed.
func (c *Catalog) Check(f *Form, now time.Time) (*Application, error) {
	return c.check(f, now, true)
}

// CheckDirect is Check for a registration staff make in person (direct
// registration, after the online window): every check is made, except
// that the window, which must exist for the level and year, may be
// closed.
func (c *Catalog) CheckDirect(f *Form, now time.Time) (*Application, error) {
	return c.check(f, now, false)
}

// WindowClosedError is the refusal of a registration or correction sent
// at now, outside the window w (CodeWindowClosed).
func WindowClosedError(w Window, now time.Time) *Error { return windowClosed(w, now) }

func (c *Catalog) check(f *Form, now time.Time, requireOpen bool) (*Application, error) {
	v := &checker{}
	a := &Application{Registration: Registration{
		Level:         f.Level,
		SchoolYear:    f.SchoolYear,
		PriorityGroup: f.PriorityGroup,
	}}

	var win Window
	var winOK bool
	switch {
	case f.Level == "":
		v.add("level", "Chưa chọn cấp học (mg5, lop1 hoặc lop6)", "level is required (mg5, lop1 or lop6)")
	case !f.Level.Valid():
		v.add("level", fmt.Sprintf("Cấp học %q không tồn tại; chọn mg5, lop1 hoặc lop6", f.Level),
			fmt.Sprintf("unknown level %q; use mg5, lop1 or lop6", f.Level))
	case f.SchoolYear == 0:
		v.add("school_year", "Chưa nhập năm học (năm bắt đầu, ví dụ 2027)", "school_year is required (the starting year, e.g. 2027)")
	default:
		win, winOK = c.Window(f.Level, f.SchoolYear)
		if !winOK {
			v.add("school_year", fmt.Sprintf("Không có đợt tuyển sinh %s năm học %d-%d", f.Level.NameVI(), f.SchoolYear, f.SchoolYear+1),
				fmt.Sprintf("there is no %s registration for school year %d-%d", f.Level, f.SchoolYear, f.SchoolYear+1))
		}
	}

	// Child.
	ch := f.Child
	ch.FullName = v.name("child.full_name", ch.FullName, "họ và tên của trẻ", "the child's full name")
	ch.Ethnicity = v.text("child.ethnicity", ch.Ethnicity, maxNameLen, false)
	ch.PlaceOfBirth = v.text("child.place_of_birth", ch.PlaceOfBirth, maxTextLen, false)
	ch.OverAgeReason = v.text("child.over_age_reason", ch.OverAgeReason, maxReasonLen, false)
	ch.IDNumber = strings.TrimSpace(ch.IDNumber)
	ch.DateOfBirth = strings.TrimSpace(ch.DateOfBirth)
	sexOK := ch.Sex == Male || ch.Sex == Female
	switch {
	case ch.Sex == "":
		v.add("child.sex", "Chưa chọn giới tính của trẻ", "the child's sex is required")
	case !sexOK:
		v.add("child.sex", `Giới tính phải là "male" (nam) hoặc "female" (nữ)`, `sex must be "male" or "female"`)
	}
	dob, dobErr := time.Parse(time.DateOnly, ch.DateOfBirth)
	switch {
	case ch.DateOfBirth == "":
		v.add("child.date_of_birth", "Chưa nhập ngày sinh của trẻ", "the child's date of birth is required")
	case dobErr != nil:
		v.add("child.date_of_birth", fmt.Sprintf("Ngày sinh %q không hợp lệ; nhập theo dạng NNNN-TT-NN, ví dụ 2021-03-15", truncate(ch.DateOfBirth)),
			fmt.Sprintf("date of birth %q is not a valid date; use YYYY-MM-DD, e.g. 2021-03-15", truncate(ch.DateOfBirth)))
	case dob.After(now):
		v.add("child.date_of_birth", "Ngày sinh không thể ở tương lai", "the date of birth cannot be in the future")
	case winOK && dob.Year() > win.BirthYear:
		v.add("child.date_of_birth", fmt.Sprintf("Trẻ sinh năm %d chưa đủ tuổi vào %s năm học %d-%d (phải sinh năm %d)", dob.Year(), f.Level.NameVI(), f.SchoolYear, f.SchoolYear+1, win.BirthYear),
			fmt.Sprintf("a child born in %d is too young for %s in %d-%d (must be born in %d)", dob.Year(), f.Level, f.SchoolYear, f.SchoolYear+1, win.BirthYear))
	case winOK && dob.Year() < win.BirthYear-MaxOverAge:
		v.add("child.date_of_birth", fmt.Sprintf("Trẻ sinh năm %d vượt quá %d tuổi so với độ tuổi quy định (sinh năm %d)", dob.Year(), MaxOverAge, win.BirthYear),
			fmt.Sprintf("a child born in %d is more than %d years older than the level's age (born in %d)", dob.Year(), MaxOverAge, win.BirthYear))
	case winOK && dob.Year() < win.BirthYear && ch.OverAgeReason == "":
		v.add("child.over_age_reason", fmt.Sprintf("Trẻ sinh năm %d lớn tuổi hơn quy định (sinh năm %d): cần ghi rõ lý do (khuyết tật, chậm phát triển, dân tộc thiểu số, mồ côi, từ nước ngoài về…)", dob.Year(), win.BirthYear),
			fmt.Sprintf("a child born in %d is older than the level's age (born in %d): state the reason (disability, delayed development, ethnic minority, orphan, returning from abroad…)", dob.Year(), win.BirthYear))
	}
	if ch.IDNumber == "" {
		v.add("child.id_number", "Chưa nhập số định danh cá nhân của trẻ", "the child's personal ID number is required")
	} else {
		var checkDOB time.Time
		if dobErr == nil && sexOK {
			checkDOB = dob
		}
		if p, ok := CheckIDNumber(ch.IDNumber, checkDOB, ch.Sex); !ok {
			v.add("child.id_number", p.VI, p.EN)
		}
	}
	if winOK && dobErr == nil && dob.Year() == win.BirthYear {
		ch.OverAgeReason = "" // not needed; not kept
	}
	a.Child = ch

	// Residence: the current residence is required; the permanent one may be
	// outside the city, in which case it is left empty.
	a.Residence.Current = v.address(c, currentFields, f.Residence.Current, true)
	a.Residence.Permanent = v.address(c, permanentFields, f.Residence.Permanent, false)

	// Guardian.
	g := f.Guardian
	g.FullName = v.name("guardian.full_name", g.FullName, "họ và tên cha mẹ hoặc người giám hộ", "the guardian's full name")
	g.Relation = strings.TrimSpace(g.Relation)
	if g.Relation == "" {
		v.add("guardian.relation", "Chưa chọn quan hệ với trẻ (cha, mẹ, ông bà, anh chị, người giám hộ, khác)",
			"the relation to the child is required (father, mother, grandparent, sibling, guardian, other)")
	} else if !slices.Contains(Relations, g.Relation) {
		v.add("guardian.relation", fmt.Sprintf("Quan hệ với trẻ %q không hợp lệ; chọn một trong: %s", truncate(g.Relation), strings.Join(Relations, ", ")),
			fmt.Sprintf("relation %q is not valid; use one of: %s", truncate(g.Relation), strings.Join(Relations, ", ")))
	}
	g.IDNumber = strings.TrimSpace(g.IDNumber)
	if g.IDNumber != "" {
		if p, ok := CheckIDNumber(g.IDNumber, time.Time{}, ""); !ok {
			v.add("guardian.id_number", p.VI, p.EN)
		}
	}
	if phone, ok := NormalizePhone(g.Phone); ok {
		g.Phone = phone
	} else if strings.TrimSpace(g.Phone) == "" {
		v.add("guardian.phone", "Chưa nhập số điện thoại liên hệ", "a contact phone number is required")
	} else {
		v.add("guardian.phone", fmt.Sprintf("Số điện thoại %q không hợp lệ; nhập số di động 10 chữ số (ví dụ 0912345678) hoặc +84…", truncate(g.Phone)),
			fmt.Sprintf("phone %q is not valid; enter a 10-digit mobile number (e.g. 0912345678) or +84…", truncate(g.Phone)))
	}
	g.Email = strings.TrimSpace(g.Email)
	if g.Email != "" && !v.bidi("guardian.email", g.Email) {
		if addr, err := mail.ParseAddress(g.Email); err != nil || addr.Address != g.Email || len(g.Email) > maxTextLen {
			v.add("guardian.email", fmt.Sprintf("Địa chỉ email %q không hợp lệ", truncate(g.Email)), fmt.Sprintf("email %q is not valid", truncate(g.Email)))
		}
	}
	a.Guardian = g

	if f.PriorityGroup < 0 || f.PriorityGroup > 3 {
		v.add("priority_group", fmt.Sprintf("Nhóm ưu tiên phải từ 0 (không ưu tiên) đến 3, đã nhập %d", f.PriorityGroup),
			fmt.Sprintf("priority_group must be 0 (none) to 3, got %d", f.PriorityGroup))
	}

	// Choices.
	if winOK {
		a.Choices = v.choices(c, f.Choices, win)
	}
	if !f.Consent {
		v.add("consent", "Cần đồng ý cho phép xử lý dữ liệu cá nhân của trẻ để đăng ký", "consent to processing the child's personal data is required to register")
	}

	if len(v.problems) > 0 {
		return nil, &Error{Code: CodeInvalid,
			Message:   "Hồ sơ đăng ký chưa hợp lệ, vui lòng sửa các mục được nêu",
			MessageEN: "the registration is not valid; please correct the fields listed",
			Problems:  v.problems}
	}
	if requireOpen && !win.Open(now) {
		return nil, windowClosed(win, now)
	}
	return a, nil
}

func windowClosed(w Window, now time.Time) *Error {
	loc := vietnam()
	if now.Before(w.OpensAt) {
		return Errorf(CodeWindowClosed,
			fmt.Sprintf("Chưa đến thời gian đăng ký %s năm học %d-%d: mở lúc %s", w.Level.NameVI(), w.SchoolYear, w.SchoolYear+1, w.OpensAt.In(loc).Format("15:04 ngày 02/01/2006")),
			fmt.Sprintf("%s registration for %d-%d is not open yet: it opens at %s", w.Level, w.SchoolYear, w.SchoolYear+1, w.OpensAt.In(loc).Format("15:04 on 2 Jan 2006 (UTC+7)")))
	}
	return Errorf(CodeWindowClosed,
		fmt.Sprintf("Đã hết thời gian đăng ký trực tuyến %s năm học %d-%d (đóng lúc %s); liên hệ trường để đăng ký trực tiếp", w.Level.NameVI(), w.SchoolYear, w.SchoolYear+1, w.ClosesAt.In(loc).Format("15:04 ngày 02/01/2006")),
		fmt.Sprintf("online %s registration for %d-%d closed at %s; contact the school to register directly", w.Level, w.SchoolYear, w.SchoolYear+1, w.ClosesAt.In(loc).Format("15:04 on 2 Jan 2006 (UTC+7)")))
}

// vietnam is Indochina Time (UTC+7, no daylight saving), used for messages.
func vietnam() *time.Location { return time.FixedZone("ICT", 7*3600) }

type checker struct{ problems []Problem }

func (v *checker) add(field, vi, en string) {
	v.problems = append(v.problems, Problem{Field: field, Message: vi, MessageEN: en})
}

// plainText reports whether s is valid UTF-8 made only of printable ASCII
// and of the letters of Vietnamese and other Latin scripts (U+00A0 to
// U+024F, U+1E00 to U+1EFF): text that is NFC as it is (each of these
// runes is NFC and starts a segment that nothing before it joins) and
// holds no control or bidirectional formatting character, the text of
// nearly every form. Its checks need not normalize it or look for those.
func plainText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !(r >= 0xa0 && r < 0x250 || r >= 0x1e00 && r < 0x1f00) {
			return false // invalid UTF-8 (RuneError) too
		}
		i += n
	}
	return true
}

// text normalizes free text to NFC, trims it and checks its length.
func (v *checker) text(field, s string, max int, required bool) string {
	if plainText(s) {
		s = strings.TrimSpace(s)
		if required && s == "" {
			v.add(field, "Mục này không được để trống", "this field is required")
		}
		if n := utf8.RuneCountInString(s); n > max {
			v.add(field, fmt.Sprintf("Dài quá %d ký tự (đã nhập %d)", max, n), fmt.Sprintf("longer than %d characters (got %d)", max, n))
		}
		return s
	}
	return v.anyText(field, s, max, required)
}

// anyText is text for any text: plainText's or not.
func (v *checker) anyText(field, s string, max int, required bool) string {
	if !utf8.ValidString(s) {
		v.add(field, "Nội dung không phải văn bản UTF-8 hợp lệ", "the text is not valid UTF-8")
		return ""
	}
	s = strings.TrimSpace(norm.NFC.String(s))
	if required && s == "" {
		v.add(field, "Mục này không được để trống", "this field is required")
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.add(field, fmt.Sprintf("Dài quá %d ký tự (đã nhập %d)", max, n), fmt.Sprintf("longer than %d characters (got %d)", max, n))
	}
	if v.bidi(field, s) {
		return s
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			v.add(field, "Có ký tự điều khiển không hợp lệ", "contains a control character")
			break
		}
	}
	return s
}

// name checks a person's name: letters (with Vietnamese diacritics), spaces
// and the marks ' - . only; kept exactly as typed after NFC normalization.
func (v *checker) name(field, s, whatVI, whatEN string) string {
	return v.nameOf(field, s, whatVI, whatEN, plainText(s))
}

// nameOf is name, told whether s is plainText: it then needs no check
// of its encoding, no normalization and no look for bidirectional
// formatting characters.
func (v *checker) nameOf(field, s, whatVI, whatEN string, plain bool) string {
	if !plain && !utf8.ValidString(s) {
		v.add(field, "Nội dung không phải văn bản UTF-8 hợp lệ", "the text is not valid UTF-8")
		return ""
	}
	if !plain {
		s = norm.NFC.String(s)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		v.add(field, "Chưa nhập "+whatVI, whatEN+" is required")
		return s
	}
	if n := utf8.RuneCountInString(s); n > maxNameLen {
		v.add(field, fmt.Sprintf("Họ tên dài quá %d ký tự", maxNameLen), fmt.Sprintf("the name is longer than %d characters", maxNameLen))
		return s
	}
	if !plain && v.bidi(field, s) {
		return s
	}
	letters := 0
	for _, r := range s {
		if isLetter(r) {
			letters++
		} else if !(unicode.Is(unicode.Mn, r) || r == ' ' || r == '\'' || r == '-' || r == '.') {
			v.add(field, fmt.Sprintf("Họ tên chỉ gồm chữ cái và dấu cách (có ký tự %q)", r),
				fmt.Sprintf("a name may contain letters and spaces only (found %q)", r))
			return s
		}
	}
	if letters == 0 {
		// Marks and punctuation alone (".", "-", a lone accent) are no name.
		v.add(field, "Họ tên phải có chữ cái", "a name must contain letters")
	}
	return s
}

// isLetter is unicode.IsLetter, from a table for the runes of Vietnamese
// text (those below U+0250 and from U+1E00 to U+1EFF).
func isLetter(r rune) bool {
	switch {
	case r < 0x250:
		return latinLetters[r]
	case r >= 0x1e00 && r < 0x1f00:
		return latinLetters[0x250+r-0x1e00]
	}
	return unicode.IsLetter(r)
}

var latinLetters = func() (t [0x350]bool) {
	for r := range rune(0x250) {
		t[r] = unicode.IsLetter(r)
	}
	for r := rune(0x1e00); r < 0x1f00; r++ {
		t[0x250+r-0x1e00] = unicode.IsLetter(r)
	}
	return t
}()

// bidi reports a problem, and true, when s holds a bidirectional control
// character. Invisible on screen, such characters reorder what staff read
// ("Trojan Source"): a name or address shown in a list or printed on a
// notice could read differently from what is stored and searched.
func (v *checker) bidi(field, s string) bool {
	for _, r := range s {
		if isBidiControl(r) {
			v.add(field, fmt.Sprintf("Có ký tự điều khiển hướng chữ ẩn (U+%04X); hãy gõ lại nội dung, không dán từ nơi khác", r),
				fmt.Sprintf("contains a hidden bidirectional control character (U+%04X); type the text again instead of pasting it", r))
			return true
		}
	}
	return false
}

// isBidiControl reports whether r is one of Unicode's bidirectional
// formatting characters: the embeddings and overrides U+202A–U+202E, the
// isolates U+2066–U+2069, and the marks U+200E, U+200F and U+061C.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// addressFields names the fields of one address, spelled out once so the
// valid path builds no strings.
type addressFields struct{ ward, group, address string }

var (
	currentFields   = addressFields{"residence.current.ward", "residence.current.group", "residence.current.address"}
	permanentFields = addressFields{"residence.permanent.ward", "residence.permanent.group", "residence.permanent.address"}
)

func (v *checker) address(c *Catalog, field addressFields, a Address, required bool) Address {
	a.Ward = strings.TrimSpace(a.Ward)
	a.Group = v.text(field.group, a.Group, maxIDFieldLen+60, false)
	a.Address = v.text(field.address, a.Address, maxTextLen, false)
	if a.Ward == "" {
		if required {
			v.add(field.ward, "Chưa chọn phường/xã nơi ở hiện tại", "the ward of the current residence is required")
		} else if a.Group != "" || a.Address != "" {
			v.add(field.ward, "Đã nhập địa chỉ nhưng chưa chọn phường/xã", "an address was given without its ward")
		}
		return a
	}
	w, ok := c.wards[a.Ward]
	if !ok {
		v.add(field.ward, fmt.Sprintf("Mã phường/xã %q không có trong danh sách của thành phố", truncate(a.Ward)),
			fmt.Sprintf("ward code %q is not a ward of the city", truncate(a.Ward)))
		return a
	}
	if a.Group != "" && !w.groups[a.Group] {
		v.add(field.group, fmt.Sprintf("Tổ dân phố/thôn %q không thuộc phường/xã %s", truncate(a.Group), a.Ward),
			fmt.Sprintf("residential group %q is not in ward %s", truncate(a.Group), a.Ward))
	}
	return a
}

func (v *checker) choices(c *Catalog, in []string, w Window) []string {
	if len(in) == 0 {
		v.add("choices", "Cần chọn ít nhất một trường", "choose at least one school")
		return nil
	}
	if len(in) > w.MaxChoices {
		v.add("choices", fmt.Sprintf("Chỉ được chọn tối đa %d trường (đã chọn %d)", w.MaxChoices, len(in)),
			fmt.Sprintf("at most %d schools may be chosen (got %d)", w.MaxChoices, len(in)))
		return nil
	}
	out := make([]string, len(in))
	for i, code := range in {
		code = strings.TrimSpace(code)
		out[i] = code
		field := func() string { return fmt.Sprintf("choices[%d]", i) }
		if j := slices.Index(out[:i], code); j >= 0 {
			v.add(field(), fmt.Sprintf("Trường %q được chọn hai lần (lựa chọn %d và %d)", truncate(code), j+1, i+1),
				fmt.Sprintf("school %q is chosen twice (choices %d and %d)", truncate(code), j+1, i+1))
			continue
		}
		if _, ok := c.Offer(code, w.Level, w.SchoolYear); !ok {
			v.add(field(), fmt.Sprintf("Mã trường %q không có hoặc không tuyển sinh %s năm học %d-%d", truncate(code), w.Level.NameVI(), w.SchoolYear, w.SchoolYear+1),
				fmt.Sprintf("school code %q does not exist or does not admit %s in %d-%d", truncate(code), w.Level, w.SchoolYear, w.SchoolYear+1))
		}
	}
	return out
}

// NormalizePhone returns a Vietnamese phone number in its 10- or 11-digit
// domestic form (0xxxxxxxxx): mobiles 03x, 05x, 07x, 08x, 09x with 10
// digits, landlines 02x with 11. It accepts +84 or 84 in front and spaces,
// dots and dashes between digits.
func NormalizePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 10 && s[0] == '0' && strings.IndexByte("35789", s[1]) >= 0 && allDigits(s) {
		return s, true // a mobile number as it is written
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '.' || r == '-':
		default:
			return "", false
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "84") && (len(d) == 11 || len(d) == 12) {
		d = "0" + d[2:]
	}
	switch {
	case len(d) == 10 && d[0] == '0' && strings.ContainsRune("35789", rune(d[1])):
		return d, true
	case len(d) == 11 && strings.HasPrefix(d, "02"):
		return d, true
	}
	return "", false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}
