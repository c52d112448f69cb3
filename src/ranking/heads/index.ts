export { CtrCvrHeads, type CvrMode } from './ctr-cvr-heads';
