package main

// Common Vietnamese family, middle and given names, written with their
// diacritics in NFC (the tests check that). Family names are weighted
// roughly by how common they are: Nguyễn alone is about 38% of the
// population.
var (
	familyNames = []weighted{
		{"Nguyễn", 38}, {"Trần", 11}, {"Lê", 9.5}, {"Phạm", 7}, {"Hoàng", 5}, {"Huỳnh", 1.5},
		{"Phan", 4.5}, {"Vũ", 4}, {"Võ", 2}, {"Đặng", 2}, {"Bùi", 2}, {"Đỗ", 1.5}, {"Hồ", 1.3},
		{"Ngô", 1.3}, {"Dương", 1}, {"Lý", 0.5}, {"Đinh", 1}, {"Trịnh", 1}, {"Đào", 1}, {"Mai", 0.5},
		{"Lương", 0.5}, {"Tạ", 0.3}, {"Chu", 0.3}, {"Kiều", 0.2},
	}
	middleMale   = []string{"Văn", "Đức", "Minh", "Quang", "Hữu", "Gia", "Anh", "Thành", "Hoàng", "Tuấn", "Bảo", "Đăng", "Nhật", "Trung"}
	middleFemale = []string{"Thị", "Ngọc", "Thu", "Thanh", "Phương", "Bảo", "Khánh", "Minh", "Hà", "Thảo", "Diệu", "Mai", "Hồng", "Tường"}
	givenMale    = []string{"An", "Bảo", "Dũng", "Đức", "Hiếu", "Huy", "Khang", "Khoa", "Long", "Minh", "Nam", "Phúc", "Quân", "Sơn", "Thành", "Trung", "Tuấn", "Việt", "Hưng", "Khôi", "Lâm", "Nghĩa", "Phong", "Tùng"}
	givenFemale  = []string{"Anh", "Chi", "Hà", "Hạnh", "Hương", "Lan", "Linh", "Mai", "My", "Ngân", "Ngọc", "Nhi", "Phương", "Thảo", "Trang", "Vy", "Yến", "Hoa", "Diệp", "Giang", "Hằng", "Loan", "Quỳnh", "Uyên"}

	ethnicities = []weighted{
		{"Kinh", 90}, {"Tày", 2}, {"Thái", 2}, {"Mường", 2}, {"Nùng", 1}, {"Mông", 1}, {"Dao", 1}, {"Hoa", 1},
	}

	// streets are used for street addresses; the city's API does not
	// publish streets, and the intake does not check them.
	streets = []string{
		"phố Đội Cấn", "phố Kim Mã", "phố Láng Hạ", "đường Nguyễn Trãi", "đường Giải Phóng", "phố Trần Duy Hưng",
		"đường Xuân Thủy", "phố Tây Sơn", "đường Hoàng Quốc Việt", "đường Lạc Long Quân", "phố Minh Khai",
		"phố Bạch Mai", "phố Nguyễn Chí Thanh", "phố Hàng Bạc", "phố Thái Hà", "phố Chùa Bộc", "đường Phạm Văn Đồng",
		"phố Tôn Đức Thắng", "đường Láng", "phố Vọng",
	}

	overAgeReasons = []string{
		"Trẻ chậm phát triển, có xác nhận của bệnh viện",
		"Trẻ khuyết tật nhẹ, có giấy xác nhận mức độ khuyết tật",
		"Gia đình từ nước ngoài về nước",
	}
)

// weighted is a value with a relative weight.
type weighted struct {
	v string
	w float64
}

// pickWeighted returns the value that u (in [0,1)) falls on when the weights
// are laid end to end.
func pickWeighted(ws []weighted, u float64) string {
	total := 0.0
	for _, x := range ws {
		total += x.w
	}
	t := u * total
	for _, x := range ws {
		if t < x.w {
			return x.v
		}
		t -= x.w
	}
	return ws[len(ws)-1].v
}
