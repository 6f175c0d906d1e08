package democity

import (
	"fmt"
	"math"
)

// wardSpec is one row of the ward table, from which a Ward and its schools
// are built.
type wardSpec struct {
	code    string
	kind    string // "phuong" or "xa"
	name    string // without the "Phường"/"Xã" prefix
	stem    string // the name schools named after the ward use
	slug    string // uppercase ASCII, for school codes
	lat     float64
	lon     float64
	ngroups int      // number of residential groups, 6..30
	roads   []string // streets for school addresses (phường only)
}

// wardTable is the demo city. Names are real Hanoi ward and commune names
// after the 2025 reform; codes, centroids (rounded, and pulled inside the
// bounding box for Sơn Tây and Ba Vì), group counts and roads are invented
// or approximate. Codes increase down the table, so Wards comes out sorted.
var wardTable = []wardSpec{
	{"00004", "phuong", "Ba Đình", "Ba Đình", "BADINH", 21.0368, 105.8342, 24, []string{"phố Đội Cấn", "phố Phan Đình Phùng", "phố Quán Thánh"}},
	{"00008", "phuong", "Ngọc Hà", "Ngọc Hà", "NGOCHA", 21.0405, 105.8215, 18, []string{"phố Hoàng Hoa Thám", "phố Ngọc Hà", "phố Văn Cao"}},
	{"00025", "phuong", "Giảng Võ", "Giảng Võ", "GIANGVO", 21.0275, 105.8195, 20, []string{"phố Giảng Võ", "phố Kim Mã", "phố Huỳnh Thúc Kháng"}},
	{"00070", "phuong", "Hoàn Kiếm", "Hoàn Kiếm", "HOANKIEM", 21.0285, 105.8522, 22, []string{"phố Hàng Bài", "phố Đinh Tiên Hoàng", "phố Hàng Gai"}},
	{"00082", "phuong", "Cửa Nam", "Cửa Nam", "CUANAM", 21.0245, 105.8430, 16, []string{"phố Quán Sứ", "phố Trần Hưng Đạo", "phố Hai Bà Trưng"}},
	{"00094", "phuong", "Hồng Hà", "Hồng Hà", "HONGHA", 21.0420, 105.8600, 28, []string{"phố Phúc Tân", "phố Chương Dương Độ", "đường Bạch Đằng"}},
	{"00103", "phuong", "Tây Hồ", "Tây Hồ", "TAYHO", 21.0680, 105.8230, 16, []string{"đường Lạc Long Quân", "phố Xuân Diệu", "phố Tô Ngọc Vân"}},
	{"00115", "phuong", "Phú Thượng", "Phú Thượng", "PHUTHUONG", 21.0870, 105.8100, 10, []string{"đường An Dương Vương", "phố Phú Thượng", "phố Phú Xá"}},
	{"00157", "phuong", "Cầu Giấy", "Cầu Giấy", "CAUGIAY", 21.0330, 105.7930, 22, []string{"đường Cầu Giấy", "phố Trần Thái Tông", "phố Dịch Vọng Hậu"}},
	{"00160", "phuong", "Nghĩa Đô", "Nghĩa Đô", "NGHIADO", 21.0460, 105.7980, 20, []string{"đường Hoàng Quốc Việt", "phố Nghĩa Đô", "phố Nguyễn Văn Huyên"}},
	{"00166", "phuong", "Yên Hòa", "Yên Hòa", "YENHOA", 21.0210, 105.7900, 18, []string{"phố Trung Kính", "phố Yên Hòa", "phố Nguyễn Khang"}},
	{"00199", "phuong", "Văn Miếu - Quốc Tử Giám", "Quốc Tử Giám", "VANMIEU", 21.0275, 105.8355, 12, []string{"phố Quốc Tử Giám", "phố Tôn Đức Thắng", "phố Văn Miếu"}},
	{"00205", "phuong", "Ô Chợ Dừa", "Ô Chợ Dừa", "OCHODUA", 21.0185, 105.8245, 26, []string{"phố Xã Đàn", "phố Hoàng Cầu", "phố Đê La Thành"}},
	{"00226", "phuong", "Đống Đa", "Đống Đa", "DONGDA", 21.0120, 105.8270, 22, []string{"phố Tây Sơn", "phố Thái Hà", "phố Chùa Bộc"}},
	{"00229", "phuong", "Láng", "Láng", "LANG", 21.0140, 105.8060, 14, []string{"đường Láng", "phố Nguyễn Chí Thanh", "phố Láng Hạ"}},
	{"00235", "phuong", "Kim Liên", "Kim Liên", "KIMLIEN", 21.0070, 105.8380, 16, []string{"phố Phạm Ngọc Thạch", "phố Lương Định Của", "phố Đào Duy Anh"}},
	{"00256", "phuong", "Hai Bà Trưng", "Hai Bà Trưng", "HAIBATRUNG", 21.0120, 105.8540, 20, []string{"phố Bà Triệu", "phố Lò Đúc", "phố Huế"}},
	{"00283", "phuong", "Long Biên", "Long Biên", "LONGBIEN", 21.0470, 105.8880, 24, []string{"đường Nguyễn Văn Cừ", "phố Ngọc Lâm", "phố Long Biên"}},
	{"00292", "phuong", "Bồ Đề", "Bồ Đề", "BODE", 21.0330, 105.8760, 18, []string{"phố Bồ Đề", "phố Hồng Tiến", "phố Nguyễn Sơn"}},
	{"00313", "phuong", "Hoàng Mai", "Hoàng Mai", "HOANGMAI", 20.9750, 105.8600, 30, []string{"đường Tam Trinh", "phố Hoàng Mai", "đường Lĩnh Nam"}},
	{"00316", "phuong", "Định Công", "Định Công", "DINHCONG", 20.9840, 105.8330, 20, []string{"phố Định Công", "phố Kim Giang", "đường Giải Phóng"}},
	{"00331", "phuong", "Thanh Xuân", "Thanh Xuân", "THANHXUAN", 20.9950, 105.8100, 26, []string{"đường Nguyễn Trãi", "phố Vũ Trọng Phụng", "phố Khuất Duy Tiến"}},
	{"00337", "phuong", "Khương Đình", "Khương Đình", "KHUONGDINH", 20.9900, 105.8180, 12, []string{"phố Khương Đình", "phố Khương Trung", "phố Vương Thừa Vũ"}},
	{"00361", "phuong", "Hà Đông", "Hà Đông", "HADONG", 20.9700, 105.7800, 28, []string{"đường Quang Trung", "phố Tô Hiệu", "phố Trần Phú"}},
	{"00367", "phuong", "Dương Nội", "Dương Nội", "DUONGNOI", 20.9750, 105.7530, 18, []string{"đường Lê Trọng Tấn", "phố Dương Nội", "đường Tố Hữu"}},
	{"00382", "phuong", "Sơn Tây", "Sơn Tây", "SONTAY", 21.1350, 105.7150, 16, []string{"phố Phùng Khắc Khoan", "phố Lê Lợi", "đường Chùa Thông"}},
	{"08974", "xa", "Sóc Sơn", "Sóc Sơn", "SOCSON", 21.2300, 105.8450, 20, nil},
	{"09022", "xa", "Đông Anh", "Đông Anh", "DONGANH", 21.1400, 105.8500, 26, nil},
	{"09079", "xa", "Gia Lâm", "Gia Lâm", "GIALAM", 21.0200, 105.9500, 22, nil},
	{"09145", "xa", "Bát Tràng", "Bát Tràng", "BATTRANG", 20.9850, 105.9250, 8, nil},
	{"09268", "xa", "Thanh Trì", "Thanh Trì", "THANHTRI", 20.9300, 105.8500, 18, nil},
	{"09646", "xa", "Ba Vì", "Ba Vì", "BAVI", 21.1900, 105.7150, 24, nil},
}

// villages are the names communes give their villages (thôn). Each commune
// takes a run of them starting at its own offset, so neighbouring communes
// mostly have different village names, as in life.
var villages = []string{
	"Đoài", "Đông", "Nam", "Bắc", "Trung", "Thượng", "Hạ", "Giữa",
	"Chùa", "Đình", "Ngọc", "Phú", "Vân", "Lai", "Tiên", "Kim",
	"Hương", "Đồng", "Xuân", "Thanh", "Hòa", "Yên", "An", "Bình",
	"Lộc", "Phúc", "Thọ", "Khang", "Mai", "Lương", "Vĩnh", "Hậu",
	"Tân", "Cổ", "Quang", "Minh", "Thịnh", "Đức", "Hưng", "Sơn",
}

// groupNames returns the residential groups of the ward in table row i.
func groupNames(i int, w wardSpec) []string {
	gs := make([]string, w.ngroups)
	for k := range gs {
		if w.kind == "phuong" {
			gs[k] = fmt.Sprintf("TDP %d", k+1)
			continue
		}
		gs[k] = "Thôn " + villages[(i*7+k)%len(villages)]
	}
	return gs
}

// buildWards turns the ward table into Wards.
func buildWards() []Ward {
	ws := make([]Ward, len(wardTable))
	for i, w := range wardTable {
		prefix := "Phường "
		if w.kind == "xa" {
			prefix = "Xã "
		}
		ws[i] = Ward{
			Code:   w.code,
			Name:   prefix + w.name,
			Kind:   w.kind,
			Groups: groupNames(i, w),
			Lat:    w.lat,
			Lon:    w.lon,
		}
	}
	return ws
}

// micro returns a coordinate in integer millionths of a degree. Positions
// are computed in integers so that no fused multiply-add on some CPUs can
// change a result, and with it the city, from one machine to another.
func micro(deg float64) int64 { return int64(math.Round(deg * 1e6)) }

// dist2 returns a squared distance between wards i and j, in squared
// millionths of a degree of latitude, with longitude shrunk by cos(21°).
func dist2(i, j int) int64 {
	dlat := micro(wardTable[i].lat) - micro(wardTable[j].lat)
	dlon := (micro(wardTable[i].lon) - micro(wardTable[j].lon)) * 934 / 1000
	return dlat*dlat + dlon*dlon
}

// nearest returns the table index of the ward nearest to ward i among those
// for which ok returns true, or -1 if there is none. Ties go to the earlier
// row.
func nearest(i int, ok func(j int) bool) int {
	best, bestD := -1, int64(0)
	for j := range wardTable {
		if j == i || !ok(j) {
			continue
		}
		if d := dist2(i, j); best < 0 || d < bestD {
			best, bestD = j, d
		}
	}
	return best
}
