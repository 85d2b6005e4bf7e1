/**
 * Italian providers write daticert times in Italian local time with its UTC offset (`+0100` in
 * winter, `+0200` in summer), so the simulator does too: the offset comes from the Europe/Rome rules
 * at that instant (the SDK's one Italian calendar), not from the machine's time zone.
 */
export { romeOffset as italianZona } from '../../adapters/sdk/index.js';
