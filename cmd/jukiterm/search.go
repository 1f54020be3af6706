package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"jukiterm/store"
	"jukiterm/store/record"
)

func (a *app) searchCmd() *cobra.Command {
	var q store.Query
	var sex string
	var national bool
	c := &cobra.Command{
		Use:   "search (--code C | --number N | 4情報 options)",
		Short: "Search the file by 住民票コード, 個人番号 or the 4情報 (name, kana, birth, sex, address)",
		Long: "Search the file. By --code, by --number, or by any combination of --kana, --name,\n" +
			"--birth, --sex, --address and --municipality; a 4情報 search needs the kana or kanji\n" +
			"name, or the birth date with one other item. --kana matches the 清音化 form of the\n" +
			"whole name, or of the surname alone when it has no space. At a terminal, without\n" +
			"--application, it lists the 申請 (applications) open today and asks which one.\n" +
			"--national asks the national server (機構への照会) instead, for persons this\n" +
			"prefecture does not hold; its answer is shown and never kept.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			switch sex {
			case "":
			case "1", "男":
				q.Sex = 1
			case "2", "女":
				q.Sex = 2
			default:
				return withCode(exitUsage, fmt.Errorf("--sex %q: use 1 (男) or 2 (女)", sex))
			}
			if q.Limit < 1 {
				return withCode(exitUsage, fmt.Errorf("--limit must be at least 1"))
			}
			if q.Code == "" && q.Number == "" && q.Kana == "" && q.Name == "" && q.Birth == "" &&
				q.Sex == 0 && q.Address == "" && q.Municipality == "" {
				return withCode(exitUsage, fmt.Errorf("say what to search for: --code, --number, or 4情報 items such as --kana and --birth (see `jukiterm search --help`)"))
			}
			cl := a.client()
			if !c.Flags().Changed("application") && !a.json {
				q.Application = askApplication(c.Context(), cl)
			}
			var recs []store.Person
			var err error
			if national {
				recs, err = cl.NationalSearch(c.Context(), q)
			} else {
				recs, err = cl.Search(c.Context(), q)
			}
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(recs)
			}
			if len(recs) == 0 {
				if national {
					fmt.Println("the national server knows no person who matches")
					return nil
				}
				fmt.Println("no person matches")
				return nil
			}
			if national {
				fmt.Println("Answer of the national server (全国サーバ); it is shown only, not kept:")
			}
			printPersons(recs)
			if len(recs) == q.Limit {
				fmt.Fprintf(os.Stderr, "(showing the first %d; narrow the search or raise --limit)\n", len(recs))
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&q.Code, "code", "", "住民票コード (11 digits)")
	f.StringVar(&q.Number, "number", "", "個人番号 (12 digits)")
	f.StringVar(&q.Kana, "kana", "", "ふりがな氏名, katakana or hiragana; without a space: the surname")
	f.StringVar(&q.Name, "name", "", "漢字氏名; without a space: the surname")
	f.StringVar(&q.Birth, "birth", "", "生年月日 YYYY-MM-DD")
	f.StringVar(&sex, "sex", "", "性別: 1 or 男, 2 or 女")
	f.StringVar(&q.Address, "address", "", "住所, matched from its start")
	f.StringVar(&q.Municipality, "municipality", "", "市町村コード (6 digits)")
	f.BoolVar(&q.IncludeRemoved, "include-removed", false, "include persons removed from the register (消除者)")
	f.IntVar(&q.Limit, "limit", store.DefaultLimit, "at most this many results")
	f.StringVar(&q.Application, "application", "", "the 申請 (application) ID the search is done under")
	f.BoolVar(&national, "national", false, "ask the national server (全国サーバ) instead of this file")
	return a.addJSON(c)
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func sexName(s int) string {
	switch s {
	case 1:
		return "男"
	case 2:
		return "女"
	}
	return fmt.Sprint(s)
}

func statusName(s string) string {
	if s == record.StatusRemoved {
		return "消除"
	}
	return "現存"
}

func printPersons(ps []store.Person) {
	t := &table{head: []string{"住民票コード", "氏名", "ふりがな", "生年月日", "性別", "住所", "状態"}}
	for _, p := range ps {
		t.add(p.ResidentCode, p.Name, p.NameKana, p.Birth, sexName(p.Sex), p.Address, statusName(p.Status))
	}
	t.print(os.Stdout)
}
