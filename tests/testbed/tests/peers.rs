//! Each peer starts for real and answers a real call.

use testbed::moto::{MotoServer, REGION};
use testbed::pki::{TestPki, Validity};
use testbed::postgres::PgCluster;
use testbed::tds::{TdsPeer, TdsPeerOptions};
use tokio_util::compat::TokioAsyncWriteCompatExt;

async fn aws_config(moto: &MotoServer) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint_url())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "testing", "testing", None, None, "testbed",
        ))
        .load()
        .await
}

#[tokio::test]
async fn moto_serves_kms_and_secrets_manager_and_resets() {
    let moto = MotoServer::start().unwrap();
    assert!(moto.endpoint_url().starts_with("http://127.0.0.1:"));
    let config = aws_config(&moto).await;

    let kms = aws_sdk_kms::Client::new(&config);
    let key = kms.create_key().send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    let data_key = kms
        .generate_data_key()
        .key_id(&key_id)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    assert_eq!(data_key.plaintext().unwrap().as_ref().len(), 32);
    assert!(!data_key.ciphertext_blob().unwrap().as_ref().is_empty());

    let sm = aws_sdk_secretsmanager::Client::new(&config);
    sm.create_secret()
        .name("testbed/db")
        .secret_string(r#"{"username":"u","password":"p"}"#)
        .send()
        .await
        .unwrap();
    let got = sm
        .get_secret_value()
        .secret_id("testbed/db")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.secret_string(),
        Some(r#"{"username":"u","password":"p"}"#)
    );

    moto.reset().unwrap();
    let keys = kms.list_keys().send().await.unwrap();
    assert!(keys.keys().is_empty(), "reset must forget every key");
    let gone = sm.get_secret_value().secret_id("testbed/db").send().await;
    assert!(gone.is_err(), "reset must forget every secret");
}

#[tokio::test]
async fn postgres_cluster_listens_on_a_unix_socket_only() {
    let pg = PgCluster::start().unwrap();
    let mut config = tokio_postgres::Config::new();
    config
        .host_path(pg.socket_dir())
        .port(pg.port())
        .user(pg.user())
        .password(pg.password())
        .dbname("postgres");
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one("SELECT current_setting('listen_addresses'), 40 + 2", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "", "no TCP listener");
    assert_eq!(row.get::<_, i32>(1), 42);

    // A wrong password is refused: the random password is really required.
    config.password("wrong");
    assert!(config.connect(tokio_postgres::NoTls).await.is_err());

    let data = pg.data_dir();
    drop(client);
    drop(pg);
    assert!(!data.exists(), "the cluster directory is deleted on drop");
}

fn tds_config(port: u16, ca: &std::path::Path, password: &str) -> tiberius::Config {
    let mut config = tiberius::Config::new();
    config.host("127.0.0.1");
    config.port(port);
    config.authentication(tiberius::AuthMethod::sql_server("assessor", password));
    config.encryption(tiberius::EncryptionLevel::Required);
    config.trust_cert_ca(ca.display());
    config
}

async fn tds_connect(
    config: tiberius::Config,
) -> tiberius::Result<tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>>> {
    let tcp = tokio::net::TcpStream::connect(config.get_addr()).await?;
    tcp.set_nodelay(true)?;
    tiberius::Client::connect(config, tcp.compat_write()).await
}

#[tokio::test]
async fn tds_peer_answers_over_verified_tls() {
    let pki = TestPki::new("testbed CA").unwrap();
    let leaf = pki
        .leaf("server", &["localhost", "127.0.0.1"], Validity::Current)
        .unwrap();
    let fixture = testbed_fixture("tds-smoke.json");
    let peer = TdsPeer::start(&TdsPeerOptions {
        leaf,
        user: "assessor".into(),
        password: "S3cret-pw!".into(),
        fixture: Some(fixture),
    })
    .unwrap();

    let mut client = tds_connect(tds_config(peer.port(), pki.ca_path(), "S3cret-pw!"))
        .await
        .unwrap();
    let row = client
        .simple_query("SELECT @@VERSION")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    let version: &str = row.get(0).unwrap();
    assert!(
        version.starts_with("Microsoft SQL Server 2022"),
        "{version}"
    );
    assert!(peer.statements().iter().any(|s| s.contains("@@VERSION")));

    // The chain is really verified: a client trusting another CA is refused.
    let other = TestPki::new("some other CA").unwrap();
    let Err(err) = tds_connect(tds_config(peer.port(), other.ca_path(), "S3cret-pw!")).await else {
        panic!("a server certificate from an untrusted CA must be refused");
    };
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

fn testbed_fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}
