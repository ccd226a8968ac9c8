fn main() {
    println!("loginwatch");
}
