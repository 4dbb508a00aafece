use super::*;

const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn normalization_table() {
    let table: &[(&str, &str, &str)] = &[
        // input, normalized, familiar
        (
            "busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
        ),
        (
            "busybox:1.36",
            "docker.io/library/busybox:1.36",
            "busybox:1.36",
        ),
        (
            "library/busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
        ),
        (
            "docker.io/busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
        ),
        (
            "index.docker.io/busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
        ),
        ("user/app:v1", "docker.io/user/app:v1", "user/app:v1"),
        (
            "docker.io/user/app/x",
            "docker.io/user/app/x:latest",
            "user/app/x:latest",
        ),
        (
            "localhost/app",
            "localhost/app:latest",
            "localhost/app:latest",
        ),
        (
            "localhost:5000/app",
            "localhost:5000/app:latest",
            "localhost:5000/app:latest",
        ),
        (
            "127.0.0.1:5000/a/b:t",
            "127.0.0.1:5000/a/b:t",
            "127.0.0.1:5000/a/b:t",
        ),
        ("quay.io/a/b", "quay.io/a/b:latest", "quay.io/a/b:latest"),
        (
            "[::1]:5000/app",
            "[::1]:5000/app:latest",
            "[::1]:5000/app:latest",
        ),
        ("Registry/app", "Registry/app:latest", "Registry/app:latest"),
        (
            "my-reg.example:443/a-b__c.d/e---f:T_1.x-",
            "my-reg.example:443/a-b__c.d/e---f:T_1.x-",
            "my-reg.example:443/a-b__c.d/e---f:T_1.x-",
        ),
    ];
    for (input, normalized, familiar) in table {
        let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.to_string(), *normalized, "{input}");
        assert_eq!(r.familiar(), *familiar, "{input}");
        // Normalizing twice changes nothing.
        assert_eq!(Reference::parse(&r.to_string()).unwrap(), r, "{input}");
    }
}

#[test]
fn digests_and_tags() {
    let r = Reference::parse(&format!("busybox@{D}")).unwrap();
    assert_eq!(r.tag(), None, "a digest alone gets no default tag");
    assert_eq!(r.digest().unwrap().to_string(), D);
    assert_eq!(r.to_string(), format!("docker.io/library/busybox@{D}"));

    let r = Reference::parse(&format!("localhost:5000/app:v2@{D}")).unwrap();
    assert_eq!(
        (r.domain(), r.path(), r.tag()),
        ("localhost:5000", "app", Some("v2"))
    );
    assert_eq!(r.name(), "localhost:5000/app");
    assert_eq!(
        r.with_tag("v3").unwrap().to_string(),
        "localhost:5000/app:v3"
    );
    assert_eq!(
        r.with_digest(r.digest().unwrap().clone()).to_string(),
        format!("localhost:5000/app@{D}")
    );
}

#[test]
fn refusals_table() {
    let long = format!("a/{}", "b".repeat(260));
    let table: &[(&str, &str)] = &[
        ("", "empty"),
        ("Busybox", "lowercase"),
        ("docker.io/Library/busybox", "lowercase"),
        ("busybox:", "tag"),
        ("busybox:-x", "tag"),
        ("busybox:.x", "tag"),
        (&format!("busybox:{}", "t".repeat(129)), "tag"),
        ("busybox@sha256:abc", "digest"),
        ("busybox@md5:0123", "sha256"),
        ("a//b", "component"),
        ("a/-b", "component"),
        ("a/b-", "component"),
        ("a/b___c", "component"),
        ("a/b..c", "component"),
        ("a b", "component"),
        ("/busybox", "component"),
        ("localhost:port/app", "host"),
        ("-bad.host/app", "host"),
        ("[zz]:5000/app", "host"),
        (&long, "255"),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "image id",
        ),
    ];
    for (input, why) in table {
        let err = Reference::parse(input).expect_err(input);
        assert!(err.to_string().contains(why), "{input}: {err}");
    }
}
