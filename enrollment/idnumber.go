package enrollment

import (
	"fmt"
	"time"
)

// Provinces maps the 3-digit province codes of the personal identification
// number (mã định danh cá nhân) to province names. The code is where the
// birth was registered, not where the child lives; numbers issued before the
// 2025 province mergers stay valid, so the 63 old codes are all kept.
var Provinces = map[string]string{
	"001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
	"010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
	"017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
	"025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
	"033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
	"038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
	"046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
	"054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
	"064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
	"072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa–Vũng Tàu", "079": "Hồ Chí Minh",
	"080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long",
	"087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
	"094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}

// Sex is a child's sex as recorded in the population database.
type Sex string

// The two recorded sexes.
const (
	Male   Sex = "male"
	Female Sex = "female"
)

// IDProblem says what is wrong with a personal identification number, in
// Vietnamese and English. The zero value means the number is valid.
type IDProblem struct{ VI, EN string }

// CheckIDNumber checks a 12-digit personal identification number against a
// date of birth and sex: 12 digits; a known province code (digits 1–3); the
// century-and-sex digit (4th: 1900s male 0 / female 1, 2000s 2/3, 2100s 4/5);
// the last two digits of the birth year (5th–6th). The last six digits are
// random and there is no check digit. When dob is the zero time only the
// form, province and century digit are checked (used for guardians).
func CheckIDNumber(id string, dob time.Time, sex Sex) (IDProblem, bool) {
	if len(id) != 12 {
		return IDProblem{
			VI: fmt.Sprintf("Số định danh cá nhân phải có đúng 12 chữ số (đã nhập %d ký tự)", len([]rune(id))),
			EN: fmt.Sprintf("the personal ID number must have exactly 12 digits (got %d characters)", len([]rune(id))),
		}, false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return IDProblem{
				VI: "Số định danh cá nhân chỉ gồm chữ số",
				EN: "the personal ID number must contain digits only",
			}, false
		}
	}
	if _, ok := Provinces[id[:3]]; !ok {
		return IDProblem{
			VI: fmt.Sprintf("Mã tỉnh %q (3 chữ số đầu) không tồn tại", id[:3]),
			EN: fmt.Sprintf("province code %q (first 3 digits) does not exist", id[:3]),
		}, false
	}
	d := int(id[3] - '0')
	if d > 5 {
		return IDProblem{
			VI: fmt.Sprintf("Chữ số thứ 4 (thế kỷ và giới tính) phải từ 0 đến 5, đã nhập %d", d),
			EN: fmt.Sprintf("the 4th digit (century and sex) must be 0 to 5, got %d", d),
		}, false
	}
	if dob.IsZero() {
		return IDProblem{}, true
	}
	want := CenturySexDigit(dob.Year(), sex)
	if d != want {
		return IDProblem{
			VI: fmt.Sprintf("Chữ số thứ 4 là %d nhưng trẻ sinh năm %d, giới tính %s thì phải là %d", d, dob.Year(), sexVI(sex), want),
			EN: fmt.Sprintf("the 4th digit is %d but a %s child born in %d must have %d", d, sex, dob.Year(), want),
		}, false
	}
	if yy := dob.Year() % 100; int(id[4]-'0')*10+int(id[5]-'0') != yy {
		return IDProblem{
			VI: fmt.Sprintf("Chữ số thứ 5–6 là %s nhưng năm sinh là %d (phải là %02d)", id[4:6], dob.Year(), yy),
			EN: fmt.Sprintf("digits 5–6 are %s but the birth year is %d (they must be %02d)", id[4:6], dob.Year(), yy),
		}, false
	}
	return IDProblem{}, true
}

// CenturySexDigit is the 4th digit of the personal identification number of
// a person born in year with the given sex.
func CenturySexDigit(year int, sex Sex) int {
	d := 2 * ((year - 1900) / 100)
	if sex == Female {
		d++
	}
	return d
}

func sexVI(s Sex) string {
	if s == Female {
		return "nữ"
	}
	return "nam"
}

// MakeIDNumber builds a personal identification number from a province code,
// a date of birth, a sex and a six-digit serial. It is for demo data and
// load tests: real numbers come from the population database.
func MakeIDNumber(province string, dob time.Time, sex Sex, serial int) string {
	return fmt.Sprintf("%s%d%02d%06d", province, CenturySexDigit(dob.Year(), sex), dob.Year()%100, serial%1000000)
}
