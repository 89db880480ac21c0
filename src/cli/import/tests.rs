use super::*;

#[test]
fn json_shapes_and_lines() {
    let arr = b"[\n {\"AuditData\": \"{\\\"Id\\\":\\\"a\\\"}\"},\n {\"AuditData\": {\"Id\":\"b\"}},\n\n {\"Id\":\"c\"}\n]";
    let e = read_json_array(arr).unwrap();
    let got: Vec<(u64, String)> = e.into_iter().map(|e| (e.line, e.audit.unwrap())).collect();
    assert_eq!(
        got,
        vec![
            (2, r#"{"Id":"a"}"#.to_string()),
            (3, r#"{"Id":"b"}"#.to_string()),
            (5, r#"{"Id":"c"}"#.to_string())
        ]
    );
    assert_eq!(
        compact("{ \"a\" : [1, 2],\n \"b\": \"x \\\" y\" }"),
        r#"{"a":[1,2],"b":"x \" y"}"#
    );
    let obj = read_json_array(b"[{\"AuditData\": {\n  \"Id\": \"d e\"\n}}]").unwrap();
    assert_eq!(obj[0].audit.as_deref().unwrap(), r#"{"Id":"d e"}"#);
    let crlf = read_csv(b"Id,AuditData\r\n1,\"{}\"\r\n2\r\n3,\"{}\"\r\n").unwrap();
    let lines: Vec<u64> = crlf.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3, 4], "CRLF line numbers");
    let nd = read_ndjson(b"{\"Id\":\"a\"}\n{broken\n\n{\"AuditData\":{\"Id\":\"b\"}}\n");
    assert_eq!(nd.len(), 3);
    assert_eq!((nd[1].line, nd[1].audit.is_err()), (2, true));
    assert_eq!(nd[2].line, 4);
}

#[test]
fn csv_header_lookup_and_bad_rows() {
    let csv = "CreationDate,UserIds,Operations,AuditData\n\
                   2026-01-01,u,Op,\"{\"\"Id\"\":\"\"a\"\"}\"\n\
                   2026-01-01,u,Op\n\
                   2026-01-01,u,Op,\"{\"\"Id\"\":\"\"b\"\"}\"\n";
    let e = read_csv(csv.as_bytes()).unwrap();
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].audit.as_deref().unwrap(), r#"{"Id":"a"}"#);
    assert_eq!(e[1].line, 3);
    assert!(e[1].audit.as_ref().unwrap_err().contains("3 fields"));
    assert_eq!(
        (e[2].line, e[2].audit.as_deref().ok()),
        (4, Some(r#"{"Id":"b"}"#))
    );
    assert!(read_csv(b"A,B\n1,2\n").is_err(), "no AuditData column");
}
